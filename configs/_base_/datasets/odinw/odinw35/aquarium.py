# ODinW-35 task 'Aquarium', as the official
# configs/odinw_35/Aquarium_Aquarium_Combined.v2-raw-1024.coco.yaml
_base_ = '../aquarium.py'

task = dict(
    caption_prompt=dict(
        penguin=dict(suffix=', which is black and white'),
        puffin=dict(suffix=' with orange beaks'),
        stingray=dict(suffix=' which is flat and round')))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
