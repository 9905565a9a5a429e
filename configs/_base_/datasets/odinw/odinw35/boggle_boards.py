# ODinW-35 task 'boggleBoards', as the official
# configs/odinw_35/boggleBoards_416x416AutoOrient_export_.yaml
# classes: the file's own (official names: 'o ', 't' + a backslash, ...)
_base_ = '../_base_odinw.py'

task = dict(
    name='boggleBoards',
    root='boggleBoards/416x416AutoOrient/export/',
    val_split='val',
    one_folder=True)
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
