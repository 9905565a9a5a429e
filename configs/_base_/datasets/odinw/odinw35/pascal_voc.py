# ODinW-35 task 'PascalVOC', as the official
# configs/odinw_35/PascalVOC.yaml
# (the ODinW-13 task config as it is)
_base_ = '../pascal_voc.py'
