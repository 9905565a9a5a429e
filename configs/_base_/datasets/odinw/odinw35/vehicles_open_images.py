# ODinW-35 task 'VehiclesOpenImages', as the official
# configs/odinw_35/VehiclesOpenImages_416x416.yaml
# (the ODinW-13 task config as it is)
_base_ = '../vehicles_open_images.py'
