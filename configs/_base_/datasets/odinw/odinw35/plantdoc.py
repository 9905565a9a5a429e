# ODinW-35 task 'plantdoc', as the official
# configs/odinw_35/plantdoc_416x416.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='plantdoc',
    root='plantdoc/416x416/',
    classes=(
        'Apple Scab Leaf', 'Apple leaf', 'Apple rust leaf',
        'Bell_pepper leaf', 'Bell_pepper leaf spot', 'Blueberry leaf',
        'Cherry leaf', 'Corn Gray leaf spot', 'Corn leaf blight',
        'Corn rust leaf', 'Peach leaf', 'Potato leaf',
        'Potato leaf early blight', 'Potato leaf late blight',
        'Raspberry leaf', 'Soyabean leaf', 'Soybean leaf',
        'Squash Powdery mildew leaf', 'Strawberry leaf',
        'Tomato Early blight leaf', 'Tomato Septoria leaf spot',
        'Tomato leaf', 'Tomato leaf bacterial spot',
        'Tomato leaf late blight', 'Tomato leaf mosaic virus',
        'Tomato leaf yellow virus', 'Tomato mold leaf',
        'Tomato two spotted spider mites leaf', 'grape leaf',
        'grape leaf black rot'))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
