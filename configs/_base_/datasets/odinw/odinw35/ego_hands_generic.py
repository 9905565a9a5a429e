# ODinW-35 task 'EgoHands_generic', as the official
# configs/odinw_35/EgoHands_generic.yaml
_base_ = '../ego_hands.py'

task = dict(
    name='EgoHands_generic',
    caption_prompt=dict(hand=dict(suffix=' of a person')))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
