# ODinW-35 task 'BCCD', as the official
# configs/odinw_35/BCCD_BCCD.v3-raw.coco.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='BCCD',
    root='BCCD/BCCD.v3-raw.coco/',
    classes=('Platelets', 'RBC', 'WBC'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
