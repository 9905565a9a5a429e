# ODinW task "NorthAmericaMushrooms" (GLIP-REFERENCE section 2): 2 classes,
# train/val/test images 41/5/5.
_base_ = './_base_odinw.py'

odinw_task = 'NorthAmericaMushrooms'
odinw_task_root = (
    'NorthAmericaMushrooms/North American Mushrooms.v1-416x416.coco/')
classes = ('CoW', 'chanterelle')
eval_split = 'valid'
test_split = 'test'

caption_prompt = None
use_caption_prompt = False
# paper Table 10 category names, shown in the prompt only
class_overrides = {
    'CoW': 'flat mushroom',
    'chanterelle': 'yellow mushroom'
}
use_class_overrides = False

data_root = _base_.odinw_root + odinw_task_root
odinw_dataset = dict(
    data_root=data_root,
    metainfo=dict(classes=classes),
    caption_prompt=caption_prompt,
    use_caption_prompt=use_caption_prompt,
    class_overrides=class_overrides,
    use_class_overrides=use_class_overrides)
train_dataloader = dict(
    dataset=dict(
        ann_file='train/annotations_without_background.json',
        data_prefix=dict(img='train/'),
        **odinw_dataset))
val_dataloader = dict(
    dataset=dict(
        ann_file='valid/annotations_without_background.json',
        data_prefix=dict(img='valid/'),
        **odinw_dataset))
test_dataloader = dict(
    dataset=dict(
        ann_file='test/annotations_without_background.json',
        data_prefix=dict(img='test/'),
        **odinw_dataset))
val_evaluator = dict(ann_file=data_root +
                     val_dataloader['dataset']['ann_file'])
test_evaluator = dict(ann_file=data_root +
                      test_dataloader['dataset']['ann_file'])
