"""The work dir's record (benchmark.json) and a finished run's clean-up, on
small fake work dirs: no training (run_one is replaced where a run is
needed)."""
import hashlib
import json
import os

import pytest
import torch

from mmglip.benchmark import (BenchmarkError, FewShotBenchmark, RunSpec,
                              config_digest)
from mmglip.zoo.hub import sha256_file

from ..conftest import REPO

MODEL = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
TASK = str(REPO / 'configs/_base_/datasets/raccoon_mini.py')
SCHEDULE = str(REPO / 'configs/_base_/schedules/odinw_fewshot_cpu.py')


def _bench(work_dir, tasks=None, schedule=SCHEDULE, weights=None,
           options=None, data_root='data/odinw', keep=False):
    return FewShotBenchmark(MODEL, str(work_dir), str(data_root),
                            tasks or {'raccoon_mini': TASK}, str(schedule),
                            None if weights is None else str(weights),
                            options, keep_checkpoints=keep)


def _task_file(folder, extra=''):
    """A dataset config named raccoon_mini.py, in its own folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / 'raccoon_mini.py'
    path.write_text(f'_base_ = {TASK!r}\n{extra}')
    return str(path)


def _finished_run(work, task='raccoon_mini'):
    """A finished run of ``task`` in the work dir (its result.json): work
    that a later call of another configuration must not mix with."""
    run_dir = work / 'runs' / task / 'full' / 'shot1_seed3'
    run_dir.mkdir(parents=True)
    (run_dir / 'result.json').write_text(json.dumps(dict(ap=1.0)))


def _refused(bench, *words):
    """check_work_dir refuses and changes nothing; returns the message."""
    record = bench.record_path
    before = open(record, 'rb').read()
    with pytest.raises(BenchmarkError) as info:
        bench.check_work_dir()
    message = str(info.value)
    assert '\n' not in message and 'another --work-dir' in message
    for word in words:
        assert word in message, (word, message)
    assert open(record, 'rb').read() == before
    return message


def test_file_digest_streams_whole_content(tmp_path):
    data = bytes(range(256)) * 40
    path = tmp_path / 'w.pth'
    path.write_bytes(data)
    assert sha256_file(str(path), chunk_size=7) == \
        hashlib.sha256(data).hexdigest()


def test_config_digest_is_resolved_content(tmp_path):
    (tmp_path / 'base.py').write_text('a = 1\nb = dict(x=[1, 2], y=(3, ))\n')
    child = tmp_path / 'child.py'
    child.write_text("_base_ = './base.py'\nc = {1: 'one'}\n")
    first = config_digest(str(child))
    # layout, comments and key order do not count
    (tmp_path / 'base.py').write_text(
        '# the same\nb = dict(y=(3, ), x=[1, 2])\na = 1\n')
    assert config_digest(str(child)) == first
    # a changed value in the _base_ file does
    (tmp_path / 'base.py').write_text('a = 2\nb = dict(x=[1, 2], y=(3, ))\n')
    assert config_digest(str(child)) != first


def test_weights_with_new_content_are_refused(tmp_path):
    weights = tmp_path / 'start.pth'
    weights.write_bytes(b'first weights')
    work = tmp_path / 'work'
    _bench(work, weights=weights).check_work_dir()
    _finished_run(work)
    record = json.loads((work / 'benchmark.json').read_text())
    assert record['weights_sha256'] == \
        hashlib.sha256(b'first weights').hexdigest()
    weights.write_bytes(b'other weights, same path')
    _refused(_bench(work, weights=weights), 'weights: sha256',
             str(weights))
    _refused(_bench(work), 'weights')  # no weights at all now


def test_other_dataset_config_of_the_same_name_is_refused(tmp_path):
    work = tmp_path / 'work'
    first = _task_file(tmp_path / 'a')
    _bench(work, {'raccoon_mini': first}).check_work_dir()
    # the same content elsewhere is the same task
    same = _task_file(tmp_path / 'b')
    _bench(work, {'raccoon_mini': same}).check_work_dir()
    _finished_run(work)
    other = _task_file(tmp_path / 'c', 'train_dataloader = dict('
                       'batch_size=2)\n')
    _refused(_bench(work, {'raccoon_mini': other}), "task 'raccoon_mini'",
             other, first)


def test_changed_schedule_base_is_refused(tmp_path):
    (tmp_path / 'base.py').write_text(f'_base_ = {SCHEDULE!r}\n')
    schedule = tmp_path / 'schedule.py'
    schedule.write_text("_base_ = './base.py'\n")
    work = tmp_path / 'work'
    _bench(work, schedule=schedule).check_work_dir()
    _bench(work, schedule=schedule).check_work_dir()  # unchanged: fine
    _finished_run(work)
    (tmp_path / 'base.py').write_text(
        f'_base_ = {SCHEDULE!r}\ntrain_cfg = dict(max_epochs=5)\n')
    _refused(_bench(work, schedule=schedule), 'schedule: sha256')


def test_other_cfg_options_are_refused(tmp_path):
    work = tmp_path / 'work'
    _bench(work, options={'train_cfg.max_epochs': 1}).check_work_dir()
    _finished_run(work)
    _refused(_bench(work, options={'train_cfg.max_epochs': 2}),
             'cfg_options', "'2'")


def test_odinw_task_under_another_data_root_is_refused(tmp_path):
    work = tmp_path / 'work'
    from mmglip.datasets.odinw import odinw_config_path
    tasks = {'Raccoon': odinw_config_path('Raccoon')}
    _bench(work, tasks, data_root=tmp_path / 'odinw').check_work_dir()
    _finished_run(work, 'Raccoon')
    record = json.loads((work / 'benchmark.json').read_text())
    assert record['tasks']['Raccoon']['data_root'] == str(tmp_path / 'odinw')
    _refused(_bench(work, tasks, data_root=tmp_path / 'elsewhere'),
             "task 'Raccoon'", str(tmp_path / 'elsewhere'))


def test_subset_and_new_tasks(tmp_path):
    work = tmp_path / 'work'
    a = _task_file(tmp_path / 'a')
    b = str(tmp_path / 'b.py')
    open(b, 'w').write(f'_base_ = {TASK!r}\n')
    _bench(work, {'raccoon_mini': a}).check_work_dir()
    # a worker (update=False) sees the missing task and writes nothing
    both = _bench(work, {'raccoon_mini': a, 'b': b})
    assert both.check_work_dir(update=False) == ['b']
    assert list(json.loads((work / 'benchmark.json').read_text())['tasks']) \
        == ['raccoon_mini']
    assert both.check_work_dir() == []
    record = (work / 'benchmark.json').read_bytes()
    assert list(json.loads(record)['tasks']) == ['raccoon_mini', 'b']
    # a subset: accepted, the record is left as it is
    assert _bench(work, {'b': b}).check_work_dir() == []
    assert (work / 'benchmark.json').read_bytes() == record


def test_old_record_format_is_refused(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'benchmark.json').write_text(json.dumps(dict(
        model_config=MODEL, model_config_sha='0123', schedule_sha='4567',
        weights=None, data_root='/data/odinw', cfg_options={})))
    _finished_run(work)
    _refused(_bench(work), 'older mmglip')
    # without the finished run there is nothing to protect
    (work / 'runs/raccoon_mini/full/shot1_seed3/result.json').unlink()
    assert _bench(work).check_work_dir() == []
    assert json.loads((work / 'benchmark.json').read_text())['format'] == 2


# --------------------------------- a record with nothing made under it
def _record(work):
    return json.loads((work / 'benchmark.json').read_text())


def test_call_that_failed_before_any_run_leaves_nothing_to_protect(
        tmp_path, capsys):
    """Issue 19 item 4: a first call with a wrong --data-root recorded its
    configuration and failed before any run finished or wrote a
    checkpoint (only the log folder of the run that failed is there); the
    corrected call is accepted and recorded instead, with a note."""
    from mmglip.datasets.odinw import odinw_config_path
    work = tmp_path / 'work'
    tasks = {'Raccoon': odinw_config_path('Raccoon')}
    _bench(work, tasks, data_root=tmp_path / 'wrong').check_work_dir()
    log_dir = work / 'runs/Raccoon/full/shot1_seed3/20250101_000000'
    log_dir.mkdir(parents=True)
    (log_dir / '20250101_000000.log').write_text('error: no such file\n')
    (log_dir.parent / 'glip-lite_raccoon-mini.py').write_text('# dump\n')
    capsys.readouterr()
    right = _bench(work, tasks, data_root=tmp_path / 'odinw')
    assert right.check_work_dir() == []
    note = capsys.readouterr().err
    assert note.startswith(f'note: {work / "benchmark.json"}: task '
                           "'Raccoon'") and str(tmp_path / 'wrong') in note
    assert _record(work)['tasks']['Raccoon']['data_root'] == \
        str(tmp_path / 'odinw')
    assert (log_dir / '20250101_000000.log').is_file()  # nothing deleted
    # the same holds for the weights, model config, schedule and options
    _bench(work, tasks, data_root=tmp_path / 'odinw',
           options={'train_cfg.max_epochs': 2}).check_work_dir()
    assert _record(work)['cfg_options'] == {'train_cfg.max_epochs': '2'}


def test_checkpoint_of_an_unfinished_run_is_protected(tmp_path):
    """A run killed after its first checkpoint holds work (it resumes from
    it): another configuration is refused as before."""
    work = tmp_path / 'work'
    _bench(work, options={'train_cfg.max_epochs': 1}).check_work_dir()
    run_dir = work / 'runs/raccoon_mini/full/shot1_seed3'
    run_dir.mkdir(parents=True)
    (run_dir / 'epoch_1.pth').write_bytes(b'weights')
    message = _refused(_bench(work, options={'train_cfg.max_epochs': 2}),
                       'cfg_options', 'runs/raccoon_mini/full/shot1_seed3/'
                       'epoch_1.pth')
    assert '1 file(s) of finished or checkpointed runs' in message


def test_only_the_tasks_with_work_are_protected(tmp_path):
    """A task whose runs hold nothing gets its new dataset config recorded
    even when another task of the work dir has finished runs; the finished
    task is still protected."""
    work = tmp_path / 'work'
    a, b = _task_file(tmp_path / 'a'), str(tmp_path / 'b.py')
    open(b, 'w').write(f'_base_ = {TASK!r}\n')
    _bench(work, {'raccoon_mini': a, 'b': b}).check_work_dir()
    _finished_run(work, 'raccoon_mini')
    new_b = str(tmp_path / 'c' / 'b.py')
    os.makedirs(tmp_path / 'c')
    open(new_b, 'w').write(f'_base_ = {TASK!r}\nx = 1\n')
    # a worker (update=False) waits for rank 0 to record it
    assert _bench(work, {'b': new_b}).check_work_dir(update=False) == ['b']
    assert _record(work)['tasks']['b']['config'] == b
    assert _bench(work, {'b': new_b}).check_work_dir() == []
    assert _record(work)['tasks']['b']['config'] == new_b
    other_a = _task_file(tmp_path / 'd', 'x = 2\n')
    _refused(_bench(work, {'raccoon_mini': other_a}), "task 'raccoon_mini'")
    # and another schedule is refused for the whole work dir
    _refused(_bench(work, {'b': new_b},
                    options={'train_cfg.max_epochs': 2}), 'cfg_options')


# ------------------------------------------------------ finished runs' files
SPEC = RunSpec('raccoon_mini', 1, 3, 'full')


def _fake_run_one(fail=False):
    """A run_one that writes what a real run leaves (two epochs, the best
    one, the pointer, the kept weights) without training."""

    def run_one(bench, spec, progress=None):
        run_dir = bench.run_dir(spec)
        os.makedirs(run_dir, exist_ok=True)
        for name in ('epoch_1.pth', 'epoch_2.pth',
                     'best_coco_bbox_mAP_epoch_2.pth'):
            torch.save(dict(state_dict={}, meta={}, optimizer={}),
                       os.path.join(run_dir, name))
        with open(os.path.join(run_dir, 'last_checkpoint'), 'w') as f:
            f.write(os.path.join(run_dir, 'epoch_2.pth'))
        if fail:
            raise RuntimeError('killed during the test')
        torch.save(dict(state_dict={}, meta={}),
                   os.path.join(run_dir, 'weights_best.pth'))
        return dict(ap=1.0, ap50=2.0, epochs=2, val_best_ap=3.0,
                    weights_file=os.path.relpath(
                        os.path.join(run_dir, 'weights_best.pth'),
                        bench.work_dir))

    return run_one


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_finished_run_keeps_only_best_weights(tmp_path, monkeypatch):
    from mmglip.benchmark import run
    monkeypatch.setattr(run, 'run_one', _fake_run_one())
    bench = _bench(tmp_path)
    result = bench.run(SPEC)
    run_dir = tmp_path / 'runs' / SPEC.name
    assert _names(run_dir) == ['result.json', 'weights_best.pth']
    assert result['weights_file'] == \
        'runs/raccoon_mini/full/shot1_seed3/weights_best.pth'
    assert json.loads((run_dir / 'result.json').read_text()) == result
    assert result['keep_checkpoints'] is False


def test_keep_checkpoints(tmp_path, monkeypatch):
    from mmglip.benchmark import run
    monkeypatch.setattr(run, 'run_one', _fake_run_one())
    bench = _bench(tmp_path, keep=True)
    bench.run(SPEC)
    assert 'epoch_1.pth' in _names(tmp_path / 'runs' / SPEC.name)
    assert bench.tidy(SPEC) == []
    assert _names(tmp_path / 'runs' / SPEC.name) == [
        'best_coco_bbox_mAP_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth',
        'last_checkpoint', 'result.json', 'weights_best.pth']


def test_checkpoints_deleted_only_after_result(tmp_path, monkeypatch):
    from mmglip.benchmark import fewshot, run
    run_dir = tmp_path / 'runs' / SPEC.name
    # killed during the run: everything stays for the resume
    monkeypatch.setattr(run, 'run_one', _fake_run_one(fail=True))
    with pytest.raises(RuntimeError):
        _bench(tmp_path).run(SPEC)
    assert 'epoch_2.pth' in _names(run_dir)
    # result.json cannot be written: nothing is deleted either
    monkeypatch.setattr(run, 'run_one', _fake_run_one())

    def no_space(path, data, **kwargs):
        raise OSError(28, 'No space left on device', path)

    monkeypatch.setattr(fewshot, 'atomic_write_json', no_space)
    with pytest.raises(OSError):
        _bench(tmp_path).run(SPEC)
    assert 'epoch_1.pth' in _names(run_dir)
    assert 'result.json' not in _names(run_dir)


def test_interrupted_clean_up_is_finished(tmp_path, monkeypatch):
    from mmglip.benchmark import run
    monkeypatch.setattr(run, 'run_one', _fake_run_one())
    # killed between result.json and the clean-up
    monkeypatch.setattr(FewShotBenchmark, 'tidy', lambda self, spec: [])
    _bench(tmp_path).run(SPEC)
    run_dir = tmp_path / 'runs' / SPEC.name
    assert len(_names(run_dir)) == 6
    monkeypatch.undo()
    removed = _bench(tmp_path).tidy(SPEC)
    assert len(removed) == 4
    assert _names(run_dir) == ['result.json', 'weights_best.pth']
