# ODinW-35 task 'EgoHands_specific', as the official
# configs/odinw_35/EgoHands_specific.yaml
_base_ = '../ego_hands.py'

task = dict(
    name='EgoHands_specific',
    root='EgoHands/specific/',
    classes=('myleft', 'myright', 'yourleft', 'yourright'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
