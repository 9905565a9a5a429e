# ODinW-35 task 'pothole', as the official
# configs/odinw_35/pothole.yaml
_base_ = '../pothole.py'

task = dict(
    caption_prompt=dict(
        pothole=dict(
            prefix='there are some ', name='holes', suffix=' on the road')))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
