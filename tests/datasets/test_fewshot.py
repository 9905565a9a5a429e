"""k-shot sampling on the real Aquarium data: the official sampler's
guarantees, determinism, shortage warnings and the split files."""
import json
import os
import random
import warnings

import pytest

from mmglip.datasets.kshot import (FewShotWarning, category_counts,
                                   fewshot_image_ids, prepare_fewshot_split,
                                   prepare_fewshot_splits, sample_fewshot)
from .conftest import ANN, load, load_tool, write_coco

SHOTS = (1, 3, 5, 10)
SEEDS = (3, 30, 300)


@pytest.fixture(scope='module')
def aq_train(aquarium_odinw):
    dst, _ = aquarium_odinw
    return load(dst / 'train' / ANN)


def _official_walk(coco, k, seed):
    """The protocol as written: seeded shuffle of the sorted ids of images
    with a box over 1 px (the official loader drops the others first), keep
    an image while any of its categories has quota, lower every one."""
    usable = {a['image_id'] for a in coco['annotations']
              if a['bbox'][2] > 1 and a['bbox'][3] > 1}
    order = sorted(i['id'] for i in coco['images'] if i['id'] in usable)
    random.Random(seed).shuffle(order)
    cats = {}
    for a in coco['annotations']:
        cats.setdefault(a['image_id'], set()).add(a['category_id'])
    quota = {c['id']: k for c in coco['categories']}
    kept = []
    for i in order:
        if any(quota[c] > 0 for c in cats.get(i, ())):
            kept.append(i)
            for c in cats[i]:
                quota[c] -= 1
    return kept


def test_every_category_gets_k(aq_train):
    n_cats = len(aq_train['categories'])
    for k in SHOTS:
        for seed in SEEDS:
            with warnings.catch_warnings():
                warnings.simplefilter('error', FewShotWarning)  # none short
                sub = sample_fewshot(aq_train, k, seed)
            n_img, n_box = category_counts(sub)
            assert len(n_img) == n_cats
            assert all(n >= k for n in n_img.values()), (k, seed, n_img)
            assert all(n >= k for n in n_box.values())
            ids = {i['id'] for i in sub['images']}
            assert {a['image_id'] for a in sub['annotations']} == ids
            # all boxes of a kept image come along
            assert len(sub['annotations']) == sum(
                a['image_id'] in ids for a in aq_train['annotations'])
            assert fewshot_image_ids(aq_train, k, seed) == _official_walk(
                aq_train, k, seed)
            assert len(ids) <= k * n_cats


def test_same_seed_same_split_other_seed_other_split(aq_train):
    for k in SHOTS:
        a = fewshot_image_ids(aq_train, k, 3)
        assert a == fewshot_image_ids(aq_train, k, 3)
        assert sample_fewshot(aq_train, k, 3) == sample_fewshot(
            aq_train, k, 3)
        assert set(a) != set(fewshot_image_ids(aq_train, k, 30))
        assert set(a) != set(fewshot_image_ids(aq_train, k, 300))


def test_category_short_of_k_warns_and_takes_what_exists(aquarium_odinw):
    dst, _ = aquarium_odinw
    val = load(dst / 'valid' / ANN)  # jellyfish: 9 images in valid
    with pytest.warns(FewShotWarning) as rec:
        sub = sample_fewshot(val, 10, 3, source='valid.json', split='val')
    msgs = [str(r.message) for r in rec]
    assert len(msgs) == 1
    assert "category 'jellyfish' (id 2) is in only 9 usable image(s)" in \
        msgs[0]
    assert 'fewer than the 10 shots' in msgs[0]
    n_img, _ = category_counts(sub)
    assert n_img[2] == 9
    assert all(n >= 10 for c, n in n_img.items() if c != 2)


def test_short_category_synthetic(tmp_path):
    path = write_coco(tmp_path / 'a.json', [(i, f'{i}.png', 8, 8)
                                            for i in range(1, 7)],
                      [(1, 1, 1, [0, 0, 2, 2]), (2, 2, 1, [0, 0, 2, 2]),
                       (3, 3, 1, [0, 0, 2, 2]), (4, 4, 2, [0, 0, 2, 2]),
                       (5, 6, 3, [0, 0, 1, 5])],
                      [(1, 'cat'), (2, 'dog'), (3, 'eel')])
    coco = load(path)
    with pytest.warns(FewShotWarning) as rec:
        sub = sample_fewshot(coco, 3, 3)
    text = ' | '.join(str(r.message) for r in rec)
    assert "'dog' (id 2) is in only 1 usable image(s)" in text
    assert "'eel' (id 3) is in only 0 usable image(s) (1 instance(s)" in text
    assert "'cat'" not in text
    # image 5 (no boxes) and 6 (only a 1 px wide box) are never taken
    assert sorted(i['id'] for i in sub['images']) == [1, 2, 3, 4]


def test_split_files_reused_never_overwritten(aquarium_odinw, tmp_path):
    dst, _ = aquarium_odinw
    train, val = str(dst / 'train' / ANN), str(dst / 'valid' / ANN)
    out = tmp_path / 'splits'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FewShotWarning)
        t, v = prepare_fewshot_splits(train, val, 5, 30, str(out))
    assert os.path.basename(t) == 'fewshot_train_shot5_seed30.json'
    assert os.path.basename(v) == 'fewshot_val_shot5_seed30.json'
    sub = load(t)
    assert sub['fewshot']['shots'] == 5 and sub['fewshot']['seed'] == 30
    assert sub['images'] == sample_fewshot(load(train), 5, 30)['images']
    stamp = os.stat(t).st_mtime_ns
    assert prepare_fewshot_splits(train, val, 5, 30, str(out)) == (t, v)
    assert os.stat(t).st_mtime_ns == stamp  # reused, not rewritten
    # a file with other content is never overwritten
    sub['images'] = sub['images'][1:]
    with open(t, 'w') as f:
        json.dump(sub, f)
    with pytest.raises(FileExistsError, match='fewshot_train_shot5_seed30'):
        prepare_fewshot_split(train, 5, 30, str(out))
    assert load(t)['images'] == sub['images']
    # full data: the original files
    assert prepare_fewshot_splits(train, val, None, 3) == (train, val)
    # default folder: next to the annotation file
    p = prepare_fewshot_split(train, 1, 3)
    assert p == str(dst / 'train' / 'fewshot_train_shot1_seed3.json')


def test_split_file_loads_as_a_dataset(aquarium_odinw, tmp_path):
    from mmglip.registry import DATASETS
    dst, _ = aquarium_odinw
    path = prepare_fewshot_split(str(dst / 'train' / ANN), 3, 300,
                                 str(tmp_path))
    ds = DATASETS.build(
        dict(type='ODinWDataset', data_root=str(dst), ann_file=path,
             data_prefix=dict(img='train/'), return_classes=True,
             filter_cfg=dict(filter_empty_gt=True), serialize_data=False))
    assert len(ds) == len(load(path)['images'])
    labels = {i['bbox_label'] for k in range(len(ds))
              for i in ds.get_data_info(k)['instances']}
    assert labels == set(range(7))


def test_bad_shots():
    with pytest.raises(ValueError, match='positive integer'):
        sample_fewshot(dict(images=[], annotations=[], categories=[]), 0, 3)


def test_sample_fewshot_tool(aquarium_odinw, tmp_path, capsys):
    dst, _ = aquarium_odinw
    main = load_tool('sample_fewshot').main
    out = tmp_path / 'd'
    args = [str(dst / 'train' / ANN), '--shots', '1', '10', '--seeds', '3',
            '30', '--out-dir', str(out), '--val-ann',
            str(dst / 'valid' / ANN)]
    assert main(args) == 0
    assert sorted(os.listdir(out)) == sorted(
        f'fewshot_{s}_shot{k}_seed{seed}.json' for s in ('train', 'val')
        for k in (1, 10) for seed in (3, 30))
    err = capsys.readouterr().err
    assert err.count("category 'jellyfish'") == 1  # val, 10 shots, once
    assert main(args) == 0  # identical: reused


def test_shortage_of_a_dataset_split_is_one_line_naming_the_users_file(
        aquarium_odinw, tmp_path):
    """As a training run meets it: the Aquarium task's val dataset built
    from its config with fewshot=dict(shots=10) (jellyfish: 9 images), two
    seeds, Python's default warning filter and display. What is shown is
    one line per short category, once, at the user's annotation file: no
    line of mmglip's source, no path inside mmglip."""
    import io

    from mmengine.config import Config

    from mmglip.registry import DATASETS
    from ..conftest import REPO
    dst, _ = aquarium_odinw
    root = tmp_path / 'odinw'
    (root / 'Aquarium').mkdir(parents=True)
    (root / 'Aquarium' / 'Aquarium Combined.v2-raw-1024.coco').symlink_to(
        dst, target_is_directory=True)
    user_file = (root / 'Aquarium' / 'Aquarium Combined.v2-raw-1024.coco' /
                 'valid' / ANN)
    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/odinw/aquarium.py'))
    shown = io.StringIO()

    def show(message, category, filename, lineno, file=None, line=None):
        # what Python prints to stderr (source line looked up as it does)
        shown.write(warnings.formatwarning(message, category, filename,
                                           lineno, line))

    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter('default')
        warnings.showwarning = show
        for seed in (3, 30):
            ds = cfg.val_dataloader.dataset.copy()
            ds.update(data_root=str(root), fewshot=dict(
                shots=10, seed=seed, out_dir=str(tmp_path / 'k')))
            DATASETS.build(ds)
    lines = [line for line in shown.getvalue().splitlines()
             if 'FewShot' in line or 'jellyfish' in line or
             line.startswith(' ')]
    assert lines == [
        f"{user_file}:0: FewShotWarning: category 'jellyfish' (id 2) is in "
        'only 9 usable image(s) (155 instance(s) in all), fewer than the 10 '
        'shots asked for; the val sample takes all of them.'], \
        shown.getvalue()
    assert 'kshot.py' not in shown.getvalue()
    # both seeds' files were written, each holding all 9 jellyfish images
    for seed in (3, 30):
        sub = load(tmp_path / 'k' / f'fewshot_val_shot10_seed{seed}.json')
        assert category_counts(sub)[0][2] == 9


def test_prepare_fewshot_split_warning_is_a_fewshot_warning_at_the_file(
        aquarium_odinw, tmp_path):
    """The warning stays a FewShotWarning (filters, pytest.warns and
    catch_warnings work), located at the annotation file, line 0: the
    default display prints no source line."""
    dst, _ = aquarium_odinw
    val = str(dst / 'valid' / ANN)
    with pytest.warns(FewShotWarning) as rec:
        prepare_fewshot_split(val, 10, 3, str(tmp_path), split='val')
    assert len(rec) == 1
    w = rec[0]
    assert (w.filename, w.lineno) == (val, 0)
    shown = warnings.formatwarning(w.message, w.category, w.filename,
                                   w.lineno)
    assert shown.count('\n') == 1 and shown.startswith(f'{val}:0: ')
    with warnings.catch_warnings():
        warnings.simplefilter('error', FewShotWarning)
        with pytest.raises(FewShotWarning, match="'jellyfish'"):
            prepare_fewshot_split(val, 10, 30, str(tmp_path), split='val')
