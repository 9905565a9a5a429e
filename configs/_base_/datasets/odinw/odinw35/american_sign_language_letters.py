# ODinW-35 task 'AmericanSignLanguageLetters', as the official
# configs/odinw_35/AmericanSignLanguageLetters_American_Sign_Language_
# Letters.v1-v1.coco.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='AmericanSignLanguageLetters',
    root=('AmericanSignLanguageLetters/'
          'American Sign Language Letters.v1-v1.coco/'),
    classes=(
        'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N',
        'O', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
