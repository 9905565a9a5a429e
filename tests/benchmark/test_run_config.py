"""How a run's config is composed, without training: an ODinW task moved
under --data-root and a k-shot run set by plain dataset keys (the datasets
write and read the k-shot files themselves); dataset configs that cannot
take a k-shot split are refused in one line."""
import json

import pytest

from mmglip.benchmark import BenchmarkError, FewShotBenchmark, RunSpec
from mmglip.benchmark.run_config import build_run_config, load_task_config

from ..conftest import DEMO_DATA, REPO

MODEL = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
TASK = str(REPO / 'configs/_base_/datasets/raccoon_mini.py')
SCHEDULE = str(REPO / 'configs/_base_/schedules/odinw_fewshot_cpu.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _bench(work, tasks, data_root='data/odinw'):
    return FewShotBenchmark(MODEL, str(work), str(data_root), tasks,
                            SCHEDULE)


def test_odinw_task_reads_from_data_root(tmp_path):
    from mmglip.datasets.odinw import odinw_config_path
    cfg = load_task_config(odinw_config_path('Raccoon'), str(tmp_path))
    assert cfg.odinw_root == str(tmp_path)
    for key in LOADERS:
        assert cfg[key].dataset.data_root == str(tmp_path)
        assert cfg[key].dataset.task.root == 'Raccoon/Raccoon.v2-raw.coco/'
    # a dataset config with its own data_root keeps it
    mini = load_task_config(TASK, str(tmp_path))
    assert {mini[k].dataset.data_root for k in LOADERS} == {'demo/data/'}


def test_kshot_run_config_builds_the_kshot_datasets(tmp_path):
    """The k-shot run's datasets: train and val read the k-shot files of
    the work dir (written when built), test the whole split; the metric's
    ground truth is the k-shot val file."""
    from mmglip.registry import DATASETS, METRICS
    bench = _bench(tmp_path / 'work', {'raccoon_mini': TASK})
    cfg = build_run_config(bench, RunSpec('raccoon_mini', 3, 30, 'full'))
    splits = tmp_path / 'work' / 'splits' / 'raccoon_mini'
    train_cfg = cfg.train_dataloader.dataset
    assert train_cfg.type == 'mmdet.RepeatDataset' and train_cfg.times == 4
    want = dict(shots=3, seed=30, out_dir=str(splits))
    assert train_cfg.dataset.fewshot == want
    assert cfg.val_dataloader.dataset.fewshot == want
    assert 'fewshot' not in cfg.test_dataloader.dataset
    train = DATASETS.build(dict(train_cfg.dataset, serialize_data=False))
    val = DATASETS.build(dict(cfg.val_dataloader.dataset,
                              serialize_data=False))
    assert train.ann_file == str(splits / 'fewshot_train_shot3_seed30.json')
    assert val.ann_file == str(splits / 'fewshot_val_shot3_seed30.json')
    kept = json.loads(open(val.ann_file).read())['images']
    assert len(val) == len(kept) < 8
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = val.metainfo
    assert metric.gt_file == val.ann_file
    # the data folder is never written to
    assert not list((DEMO_DATA / 'raccoon_mini').rglob('fewshot_*'))


@pytest.mark.parametrize('extra, message', [
    ('train_dataloader = dict(dataset=dict(_delete_=True, '
     'type="mmdet.CocoDataset", data_root="demo/data/raccoon_mini/", '
     'ann_file="train/annotations_without_background.json"))',
     "task t: train_dataloader.dataset.type='mmdet.CocoDataset'; k-shot "
     'runs need mmglip.ODinWDataset'),
    ('val_evaluator = dict(ann_file="demo/data/raccoon_mini/valid/'
     'annotations_without_background.json")',
     'task t: val_evaluator=.* k-shot runs need '
     "dict\\(type='mmglip.DatasetCocoMetric'\\) without ann_file"),
])
def test_kshot_needs_odinw_dataset_and_dataset_metric(tmp_path, extra,
                                                      message):
    task = tmp_path / 't.py'
    task.write_text(f'_base_ = {TASK!r}\n{extra}\n')
    bench = _bench(tmp_path / 'work', {'t': str(task)})
    with pytest.raises(BenchmarkError, match=message) as err:
        build_run_config(bench, RunSpec('t', 1, 3, 'full'))
    assert '\n' not in str(err.value)
    # zero-shot and full-data runs take the config as it is
    build_run_config(bench, RunSpec('t', 'all', 3, 'full'))
