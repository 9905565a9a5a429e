# ODinW-35 task 'ChessPieces', as the official
# configs/odinw_35/ChessPieces_Chess_Pieces.v23-raw.coco.yaml
# classes: the file's own; the official OVERRIDE_CATEGORY shows the first
# category as a blank name ('  '), which mmglip does not copy
_base_ = '../_base_odinw.py'

task = dict(
    name='ChessPieces',
    root='ChessPieces/Chess Pieces.v23-raw.coco/')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
