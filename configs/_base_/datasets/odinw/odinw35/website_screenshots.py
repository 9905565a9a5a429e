# ODinW-35 task 'websiteScreenshots', as the official
# configs/odinw_35/websiteScreenshots.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='websiteScreenshots',
    root='websiteScreenshots/',
    classes=(
        'button', 'field', 'heading', 'iframe', 'image', 'label', 'link',
        'text'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
