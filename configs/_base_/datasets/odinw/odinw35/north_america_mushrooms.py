# ODinW-35 task 'NorthAmericaMushrooms', as the official
# configs/odinw_35/NorthAmericaMushrooms_North_American_Mushrooms.
# v1-416x416.coco.yaml
_base_ = '../north_america_mushrooms.py'

task = dict(
    class_overrides={'CoW': 'flat mushroom', 'chanterelle': 'yellow mushroom'})
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
