# ODinW-35 task 'CottontailRabbits', as the official
# configs/odinw_35/CottontailRabbits.yaml
_base_ = '../cottontail_rabbits.py'

task = dict(
    class_overrides={'Cottontail-Rabbit': 'rabbit'})
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
