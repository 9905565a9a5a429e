"""Small real LVIS- and Flickr30k-format data sets for the tests, made in a
tmp dir from the shared Aquarium images and their real YOLO boxes, plus a
glip-lite checkpoint and configs for tools/test.py."""
import json
import os
import re
import shutil
from pathlib import Path

from ..conftest import REPO, SHARED_DATA

AQUARIUM = SHARED_DATA / 'aquarium' / 'valid'
AQ_CLASSES = ('fish', 'jellyfish', 'penguin', 'puffin', 'shark', 'starfish',
              'stingray')
# images with fish (f), shark / puffin (c), starfish / stingray (r)
AQ_IMAGES = ('IMG_2411', 'IMG_2534', 'IMG_2525', 'IMG_2367')
FREQ = dict(fish='f', jellyfish='f', penguin='c', puffin='c', shark='c',
            starfish='r', stingray='r')
# 93 more LVIS-style names (underscores, parentheses) to make 100 classes
FILLERS = [f'thing_{i}' if i % 7 else f'bow_(weapon)_{i}' for i in range(93)]
LITE = REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py'


def need_shared_data():
    from tests.conftest import require_shared
    require_shared(AQUARIUM)


def aquarium_image(stem):
    """(path, width, height, [(class name, [x, y, w, h])]) of a shared
    Aquarium valid image, boxes from its YOLO label file."""
    from PIL import Image
    path = next((AQUARIUM / 'images').glob(f'{stem}_*.jpg'))
    width, height = Image.open(path).size
    label = AQUARIUM / 'labels' / (path.stem + '.txt')
    boxes = []
    for line in label.read_text().split('\n'):
        if not line.strip():
            continue
        c, cx, cy, w, h = line.split()
        w, h = float(w) * width, float(h) * height
        x, y = float(cx) * width - w / 2, float(cy) * height - h / 2
        boxes.append((AQ_CLASSES[int(c)], [round(x, 2), round(y, 2),
                                           round(w, 2), round(h, 2)]))
    return path, width, height, boxes


def make_lvis(root: Path, images=('IMG_2411', 'IMG_2525')):
    """An LVIS v1-format file of 100 categories (7 real, r/c/f assigned,
    non-contiguous ids listed out of id order) over Aquarium images placed
    as COCO 2017 images (``coco/val2017``, one in ``coco/train2017``).

    Returns (ann_file, coco_root, data dict)."""
    names = list(AQ_CLASSES) + FILLERS
    # ids: non-contiguous, the file lists them in a shuffled order
    ids = [1000 + 7 * i for i in range(len(names))]
    order = list(range(len(names)))
    order = order[50:] + order[:50]
    freq = ['rcf'[i % 3] for i in range(len(names))]
    cats = [
        dict(id=ids[i], name=names[i], synonyms=[names[i]],
             frequency=FREQ.get(names[i], freq[i]), image_count=1,
             instance_count=1, synset=f'{names[i]}.n.01')
        for i in order
    ]
    name2id = {n: ids[i] for i, n in enumerate(names)}
    coco_root = root / 'coco'
    imgs, anns = [], []
    for k, stem in enumerate(images):
        path, w, h, boxes = aquarium_image(stem)
        split = 'train2017' if k == 0 else 'val2017'
        file_name = f'{k + 1:012d}.jpg'
        (coco_root / split).mkdir(parents=True, exist_ok=True)
        dst = coco_root / split / file_name
        if not dst.exists():
            os.symlink(path, dst)
        present = {n for n, _ in boxes}
        iid = 500 + k
        imgs.append(dict(
            id=iid, width=w, height=h,
            coco_url=f'http://images.cocodataset.org/{split}/{file_name}',
            # negatives: the absent aquarium classes and a few fillers
            neg_category_ids=[name2id[n] for n in names[:12]
                              if n not in present],
            not_exhaustive_category_ids=[name2id[FILLERS[-1]]]))
        for n, b in boxes:
            anns.append(dict(id=len(anns) + 1, image_id=iid,
                             category_id=name2id[n], bbox=b,
                             area=b[2] * b[3],
                             segmentation=[[b[0], b[1], b[0] + b[2], b[1],
                                            b[0] + b[2], b[1] + b[3], b[0],
                                            b[1] + b[3]]]))
    data = dict(info={}, licenses=[], images=imgs, annotations=anns,
                categories=cats)
    ann_file = root / 'lvis' / 'lvis_v1_minival_inserted_image_name.json'
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(data))
    return ann_file, coco_root, data


# (image stem, caption, phrases: [(phrase text, [box class names])])
FLICKR_SENTENCES = [
    ('IMG_2411', 'A shark and a stingray swim over many fish in a tank.',
     [('A shark', ['shark']), ('a stingray', ['stingray']),
      ('many fish', ['fish'])]),
    ('IMG_2525', 'Puffins stand near a starfish.',
     [('Puffins', ['puffin']), ('a starfish', ['starfish'])]),
    ('IMG_2534', 'A starfish lies under a shark.',
     [('A starfish', ['starfish']), ('a shark', ['shark'])]),
    # "A fish" and "it" are one entity: its boxes carry both spans (as
    # MDETR writes them) and each phrase is scored on its own
    ('IMG_2367', 'A fish swims past a starfish while it turns.',
     [('A fish', ['fish']), ('a starfish', ['starfish']), ('it', ['fish'])]),
]


def make_flickr(root: Path, sentences=FLICKR_SENTENCES):
    """An MDETR ``final_flickr_separateGT_val.json`` over Aquarium images
    (``flickr30k_images/``): one entry per sentence, annotations carrying
    the spans of their phrases. Returns (ann_file, image folder, data)."""
    img_dir = root / 'flickr30k_images'
    img_dir.mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for k, (stem, caption, phrases) in enumerate(sentences):
        path, w, h, boxes = aquarium_image(stem)
        name = f'{100 + k}.jpg'
        if not (img_dir / name).exists():
            shutil.copy(path, img_dir / name)
        spans = []
        for text, _ in phrases:
            beg = re.search(r'\b' + re.escape(text) + r'\b', caption).start()
            spans.append([[beg, beg + len(text)]])
        images.append(dict(
            id=k, file_name=name, width=w, height=h, caption=caption,
            dataset_name='flickr', tokens_negative=[[0, len(caption)]],
            sentence_id=0, original_img_id=100 + k,
            tokens_positive_eval=spans))
        for cls, b in boxes:
            mine = [spans[p][0] for p, (_, classes) in enumerate(phrases)
                    if cls in classes]
            if mine:
                anns.append(dict(id=len(anns) + 1, image_id=k,
                                 category_id=1, bbox=b, area=b[2] * b[3],
                                 iscrowd=0, tokens_positive=mine))
    data = dict(info=[], licenses=[], images=images, annotations=anns,
                categories=[dict(id=1, name='object', supercategory='')])
    ann_file = root / 'final_flickr_separateGT_val.json'
    ann_file.write_text(json.dumps(data))
    return ann_file, img_dir, data


def fresh_logger():
    """Make a new mmengine logger the current one before an in-process run
    of a tool: the last one may write to a pytest capture already closed
    (python's logging then prints "--- Logging error ---" to stderr)."""
    import uuid

    from mmengine.logging import MMLogger
    MMLogger.get_instance(f'mmglip-test-{uuid.uuid4().hex}')


def lite_checkpoint(path: Path) -> Path:
    """glip-lite (random head, seeded) saved as an mmglip checkpoint."""
    import torch
    from mmengine.config import Config

    from mmglip.registry import MODELS
    cfg = Config.fromfile(str(LITE))
    cfg.model.language_model.pretrained = False
    cfg.model.backbone.pretrained = False
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return path


SMALL_PIPELINE = """[
    dict(type='LoadImageChecked', imdecode_backend='pillow'),
    dict(type='mmdet.FixScaleResize', scale=(256, 192), keep_ratio=True,
         backend='pillow'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'text', 'custom_entities',
                    'tokens_positive', 'caption_prompt'))
]"""


def lite_config(path: Path, dataset_base: str, body: str) -> Path:
    """A glip-lite config on a dataset base of configs/_base_/datasets/,
    with a small test input and no worker processes."""
    path.write_text(f"""_base_ = [
    '{REPO}/configs/_base_/models/glip_lite.py',
    '{REPO}/configs/_base_/datasets/{dataset_base}',
    '{REPO}/configs/_base_/default_runtime.py'
]
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
small_pipeline = {SMALL_PIPELINE}
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(pipeline=small_pipeline))
{body}
""")
    return path


def tools_test_error(root: Path, checkpoint: Path, capsys, dataset_base: str,
                     ann, img: str, eval_ann=None) -> str:
    """Run tools/test.py with glip-lite on ``ann`` (under ``root``) of a
    ``dataset_base`` config; it must fail with exactly one ``error:`` line
    on stderr and exit status 2. Returns that line."""
    from mmglip.utils.cli import run_tool

    from ..tool_modules import load_tool
    cfg = lite_config(root / 'bad.py', dataset_base, f"""
test_dataloader.update(dataset=dict(data_root='{root}/', ann_file='{ann}',
                                    data_prefix=dict(img='{img}')))
test_evaluator = dict(ann_file='{eval_ann or root / ann}')
""")
    fresh_logger()
    capsys.readouterr()
    status = run_tool(load_tool('tools/test.py').main, [
        str(cfg), str(checkpoint), '--work-dir', str(root / 'work')])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, '\n'.join(err)
    assert err[0].startswith('error: ')
    return err[0]
