"""The ODinW tasks, as data: the 13 tasks of the GLIP paper and the 35 of
ODinW-35, each official name with the stem of its dataset config under
``configs/_base_/datasets/odinw/``. The one table that the task configs'
README, :class:`~mmglip.datasets.ODinWDataset`, the download
(:mod:`mmglip.datasets.odinw_download`), the few-shot benchmark and the
converters read.

Imports nothing (no torch, no mmdet): a tool checks a task name in well
under a second.
"""

#: The 13 ODinW tasks of the GLIP paper, the one table of them: official
#: name -> stem of the task's dataset config
#: (``configs/_base_/datasets/odinw/<stem>.py``); each comes in the zip of
#: its name.
ODINW_TASKS = {
    'AerialMaritimeDrone': 'aerial_maritime_drone',
    'Aquarium': 'aquarium',
    'CottontailRabbits': 'cottontail_rabbits',
    'EgoHands': 'ego_hands',
    'NorthAmericaMushrooms': 'north_america_mushrooms',
    'Packages': 'packages',
    'PascalVOC': 'pascal_voc',
    'pistols': 'pistols',
    'pothole': 'pothole',
    'Raccoon': 'raccoon',
    'ShellfishOpenImages': 'shellfish_open_images',
    'thermalDogsAndPeople': 'thermal_dogs_and_people',
    'VehiclesOpenImages': 'vehicles_open_images',
}
#: The 35 tasks of ODinW-35 (the official ``configs/odinw_35/_all.json``),
#: the one table of them: task name -> stem of the task's dataset config
#: under ``configs/_base_/datasets/odinw/``. The 13 ODinW-13 tasks are among
#: them with the official ODinW-35 prompt facts (caption prompts, renamed
#: classes); AerialMaritimeDrone, EgoHands and OxfordPets each give two.
ODINW35_TASKS = {
    'AerialMaritimeDrone_large': 'odinw35/aerial_maritime_drone_large',
    'AerialMaritimeDrone_tiled': 'odinw35/aerial_maritime_drone_tiled',
    'AmericanSignLanguageLetters': 'odinw35/american_sign_language_letters',
    'Aquarium': 'odinw35/aquarium',
    'BCCD': 'odinw35/bccd',
    'ChessPieces': 'odinw35/chess_pieces',
    'CottontailRabbits': 'odinw35/cottontail_rabbits',
    'DroneControl': 'odinw35/drone_control',
    'EgoHands_generic': 'odinw35/ego_hands_generic',
    'EgoHands_specific': 'odinw35/ego_hands_specific',
    'HardHatWorkers': 'odinw35/hard_hat_workers',
    'MaskWearing': 'odinw35/mask_wearing',
    'MountainDewCommercial': 'odinw35/mountain_dew_commercial',
    'NorthAmericaMushrooms': 'odinw35/north_america_mushrooms',
    'OxfordPets_by-breed': 'odinw35/oxford_pets_by_breed',
    'OxfordPets_by-species': 'odinw35/oxford_pets_by_species',
    'PKLot': 'odinw35/pklot',
    'Packages': 'odinw35/packages',
    'PascalVOC': 'odinw35/pascal_voc',
    'Raccoon': 'odinw35/raccoon',
    'ShellfishOpenImages': 'odinw35/shellfish_open_images',
    'ThermalCheetah': 'odinw35/thermal_cheetah',
    'UnoCards': 'odinw35/uno_cards',
    'VehiclesOpenImages': 'odinw35/vehicles_open_images',
    'WildfireSmoke': 'odinw35/wildfire_smoke',
    'boggleBoards': 'odinw35/boggle_boards',
    'brackishUnderwater': 'odinw35/brackish_underwater',
    'dice': 'odinw35/dice',
    'openPoetryVision': 'odinw35/open_poetry_vision',
    'pistols': 'odinw35/pistols',
    'plantdoc': 'odinw35/plantdoc',
    'pothole': 'odinw35/pothole',
    'selfdrivingCar': 'odinw35/selfdriving_car',
    'thermalDogsAndPeople': 'odinw35/thermal_dogs_and_people',
    'websiteScreenshots': 'odinw35/website_screenshots',
}
#: the task sets ``--tasks`` accepts by name (``odinw13`` is the default)
ODINW_TASK_SETS = {'odinw13': ODINW_TASKS, 'odinw35': ODINW35_TASKS}


__all__ = ['ODINW_TASKS', 'ODINW35_TASKS', 'ODINW_TASK_SETS']
