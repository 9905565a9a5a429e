# ODinW-35 task 'OxfordPets_by-breed', as the official
# configs/odinw_35/OxfordPets_by-breed.yaml
_base_ = '../_base_odinw.py'

task = dict(
    name='OxfordPets_by-breed',
    root='OxfordPets/by-breed/',
    classes=(
        'cat-Abyssinian', 'cat-Bengal', 'cat-Birman', 'cat-Bombay',
        'cat-British_Shorthair', 'cat-Egyptian_Mau', 'cat-Maine_Coon',
        'cat-Persian', 'cat-Ragdoll', 'cat-Russian_Blue', 'cat-Siamese',
        'cat-Sphynx', 'dog-american_bulldog', 'dog-american_pit_bull_terrier',
        'dog-basset_hound', 'dog-beagle', 'dog-boxer', 'dog-chihuahua',
        'dog-english_cocker_spaniel', 'dog-english_setter',
        'dog-german_shorthaired', 'dog-great_pyrenees', 'dog-havanese',
        'dog-japanese_chin', 'dog-keeshond', 'dog-leonberger',
        'dog-miniature_pinscher', 'dog-newfoundland', 'dog-pomeranian',
        'dog-pug', 'dog-saint_bernard', 'dog-samoyed', 'dog-scottish_terrier',
        'dog-shiba_inu', 'dog-staffordshire_bull_terrier',
        'dog-wheaten_terrier', 'dog-yorkshire_terrier'),
    val_split='mini_val')
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = dict(dataset=dict(task=task))
