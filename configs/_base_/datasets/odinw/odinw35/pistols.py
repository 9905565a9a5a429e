# ODinW-35 task 'pistols', as the official
# configs/odinw_35/pistols_export.yaml
# (the ODinW-13 task config as it is)
_base_ = '../pistols.py'
