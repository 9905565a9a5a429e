# ODinW-35 task 'brackishUnderwater', as the official
# configs/odinw_35/brackishUnderwater_960x540.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='brackishUnderwater',
    root='brackishUnderwater/960x540/',
    classes=('crab', 'fish', 'jellyfish', 'shrimp', 'small_fish', 'starfish'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
