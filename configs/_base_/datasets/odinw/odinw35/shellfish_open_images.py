# ODinW-35 task 'ShellfishOpenImages', as the official
# configs/odinw_35/ShellfishOpenImages_raw.yaml
# (the ODinW-13 task config as it is)
_base_ = '../shellfish_open_images.py'
