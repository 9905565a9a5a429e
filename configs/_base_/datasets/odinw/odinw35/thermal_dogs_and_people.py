# ODinW-35 task 'thermalDogsAndPeople', as the official
# configs/odinw_35/thermalDogsAndPeople.yaml
# (the ODinW-13 task config as it is)
_base_ = '../thermal_dogs_and_people.py'
