"""Fixtures of the dataset tests: the real shared data (converted once per
session) and helpers writing small COCO files and images.

The converters are offline tooling, beside their script: the folder
``tools/dataset_converters`` goes on ``sys.path`` (as running the script
puts it), so that tests ``import odinw_formats``."""
import json
import os.path as osp
import sys
import warnings
from pathlib import Path

import pytest

from ..tool_modules import REPO
from ..conftest import require_shared
from ..tool_modules import load_tool as _load_script

CONVERTERS_DIR = str(REPO / 'tools' / 'dataset_converters')
if CONVERTERS_DIR not in sys.path:
    sys.path.insert(0, CONVERTERS_DIR)

SHARED_DATA = REPO.parent / 'shared' / 'data'
AQUARIUM = SHARED_DATA / 'aquarium'
RACCOON = SHARED_DATA / 'raccoon'
ANN = 'annotations_without_background.json'
# the embedded demo task's real Raccoon images (in the repository)
RACCOON_TRAIN = REPO / 'demo' / 'data' / 'raccoon_mini' / 'train'


def need(path: Path):
    require_shared(path)


@pytest.fixture(scope='session')
def aquarium_odinw(tmp_path_factory):
    """The shared Aquarium (YOLO) converted to the ODinW layout."""
    need(AQUARIUM)
    from odinw_formats import convert
    dst = tmp_path_factory.mktemp('aq') / 'Aquarium'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        result = convert(str(AQUARIUM), str(dst), 'yolo', link=True)
    return dst, result


@pytest.fixture(scope='session')
def raccoon_odinw(tmp_path_factory):
    """The shared Raccoon (VOC) converted with the default seeded split."""
    need(RACCOON)
    from odinw_formats import convert
    dst = tmp_path_factory.mktemp('rc') / 'Raccoon'
    result = convert(str(RACCOON), str(dst), 'voc', link=True)
    return dst, result


def write_image(path, size=(16, 12), color=(120, 90, 60)):
    from PIL import Image
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.new('RGB', size, color).save(path)
    return path


def write_coco(path, images, anns, categories):
    """images: [(id, file_name, w, h)], anns: [(id, image_id, cat_id,
    [x, y, w, h])], categories: [(id, name)]."""
    coco = dict(
        images=[dict(id=i, file_name=f, width=w, height=h)
                for i, f, w, h in images],
        annotations=[
            dict(id=a, image_id=i, category_id=c, bbox=list(b),
                 area=b[2] * b[3] if len(b) == 4 else 0, iscrowd=0)
            for a, i, c, b in anns
        ],
        categories=[dict(id=i, name=n, supercategory='none')
                    for i, n in categories])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(coco, f)
    return str(path)


def load(path):
    with open(osp.join(path)) as f:
        return json.load(f)


def load_tool(name):
    """The script ``tools/dataset_converters/<name>.py`` as a module (run
    in-process: no second interpreter start)."""
    return _load_script(f'tools/dataset_converters/{name}.py')


CAPTIONS = ('a {} looks out of a hollow tree',
            'the {} sits on the grass at night',
            'close up of a young {} in the snow',
            'one {} climbing over a wooden fence')


def raccoon_grounding_json(path: Path, num_images: int = 8) -> Path:
    """MDETR-style captions with spans over the real Raccoon images and
    their real boxes."""
    src = json.loads((RACCOON_TRAIN / ANN).read_text())
    images, anns = [], []
    for i, img in enumerate(src['images'][:num_images]):
        caption = CAPTIONS[i % len(CAPTIONS)].format('raccoon')
        start = caption.index('raccoon')
        images.append(dict(img, caption=caption))
        for ann in src['annotations']:
            if ann['image_id'] == img['id']:
                anns.append(dict(ann, id=len(anns) + 1,
                                 tokens_positive=[[start, start + 7]]))
    path.write_text(json.dumps(dict(images=images, annotations=anns,
                                    categories=src['categories'])))
    return path
