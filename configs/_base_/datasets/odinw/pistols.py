# ODinW task "pistols" (GLIP-REFERENCE section 2): 1 class,
# train/val/test images 2377/297/297.
_base_ = './_base_odinw.py'

odinw_task = 'pistols'
odinw_task_root = 'pistols/export/'
classes = ('pistol', )
# one image folder (export/) with a json per split
eval_split = 'val'
test_split = 'test'

caption_prompt = None
use_caption_prompt = False
class_overrides = None
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
        ann_file='train_annotations_without_background.json',
        data_prefix=dict(img=''),
        **odinw_dataset))
val_dataloader = dict(
    dataset=dict(
        ann_file='val_annotations_without_background.json',
        data_prefix=dict(img=''),
        **odinw_dataset))
test_dataloader = dict(
    dataset=dict(
        ann_file='test_annotations_without_background.json',
        data_prefix=dict(img=''),
        **odinw_dataset))
val_evaluator = dict(ann_file=data_root +
                     val_dataloader['dataset']['ann_file'])
test_evaluator = dict(ann_file=data_root +
                      test_dataloader['dataset']['ann_file'])
