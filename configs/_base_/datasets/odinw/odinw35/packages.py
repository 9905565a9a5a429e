# ODinW-35 task 'Packages', as the official
# configs/odinw_35/Packages_Raw.yaml
_base_ = '../packages.py'

task = dict(
    caption_prompt=dict(
        package=dict(prefix='there is a ', suffix=' on the porch')))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
