# ODinW-35 task 'OxfordPets_by-species', as the official
# configs/odinw_35/OxfordPets_by-species.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='OxfordPets_by-species',
    root='OxfordPets/by-species/',
    classes=('cat', 'dog'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
