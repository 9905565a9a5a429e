# What the 13 ODinW task configs in this folder share (the official layout,
# GLIP-REFERENCE section 2): a task config inherits this file, states its
# facts in `task` and hands them to the three datasets; see README.md here.
#
# `mmglip.ODinWDataset` finds a task's files itself: with `data_root` the
# ODinW root, `task.root` the task folder under it and `split` the role, it
# reads <data_root>/<task.root>/<folder>/annotations_without_background.json
# (folder: train, task.val_split or task.test_split); with
# `fewshot=dict(shots=k, seed=s)` the k-shot sample of that file. The metric
# takes its ground truth from the dataset it evaluates.
#
# The ODinW root is the environment variable ODINW_ROOT when set
# (ODINW_ROOT=/data/odinw python tools/...), else data/odinw/.
_base_ = '../glip_data.py'
odinw_root = '{{$ODINW_ROOT:data/odinw}}/'

# the prompt options of the task are off unless switched on per dataset
odinw_dataset = dict(
    type='mmglip.ODinWDataset',
    data_root=odinw_root,
    use_caption_prompt=False,
    use_class_overrides=False)
# batch 4 as the official ODinW tuning schedule
train_dataloader = dict(
    batch_size=4, dataset=dict(split='train', **odinw_dataset))
val_dataloader = dict(dataset=dict(split='val', **odinw_dataset))
test_dataloader = dict(dataset=dict(split='test', **odinw_dataset))
val_evaluator = dict(
    type='mmglip.DatasetCocoMetric',
    metric='bbox',
    backend_args=_base_.backend_args)
test_evaluator = val_evaluator
