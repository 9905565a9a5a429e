# ODinW-35 task 'Raccoon', as the official
# configs/odinw_35/Raccoon_Raccoon.v2-raw.coco.yaml
# (the ODinW-13 task config as it is)
_base_ = '../raccoon.py'
