# ODinW-35 task 'UnoCards', as the official
# configs/odinw_35/UnoCards_raw.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='UnoCards',
    root='UnoCards/raw/',
    classes=(
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12',
        '13', '14'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
