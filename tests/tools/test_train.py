"""tools/train.py on real images: the loss goes down, a checkpoint is
written, and --resume continues from it (torch >= 2.6 included)."""
import json
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/glip_lite/glip-lite_raccoon-mini.py'


def _train(work_dir, *extra):
    cmd = [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
           str(work_dir), '--cfg-options', 'train_cfg.val_interval=100',
           'default_hooks.checkpoint.interval=1', *extra]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                         env={**__import__('os').environ,
                              'HF_HUB_OFFLINE': '1'})
    assert res.returncode == 0, res.stderr[-4000:]
    return res


def _losses(work_dir):
    rows = []
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return [(r['epoch'], r['iter'], r['loss']) for r in rows if 'loss' in r]


def test_train_then_resume(tmp_path):
    assert torch.__version__ >= '2.6'  # the case mmengine 0.10.7 fails on
    _train(tmp_path, 'train_cfg.max_epochs=3')
    assert (tmp_path / 'epoch_3.pth').is_file()
    first = _losses(tmp_path)
    assert len(first) == 9  # 24 images / batch 4 = 6 iters, logged every 2
    losses = [loss for _, _, loss in first]
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses

    # the newest checkpoint was cut short (a killed save, a full disk):
    # --resume sets it aside, names it, and continues from epoch 2
    newest = tmp_path / 'epoch_3.pth'
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) // 3])
    res = _train(tmp_path, 'train_cfg.max_epochs=4', '--resume')
    out = res.stdout + res.stderr
    assert f'{newest} cannot be read' in out
    assert 'resumed epoch: 2' in out
    assert (tmp_path / 'epoch_3.pth.incomplete').read_bytes() == \
        data[:len(data) // 3]  # kept, not deleted
    assert (tmp_path / 'epoch_4.pth').is_file()
    resumed = [r for r in _losses(tmp_path) if r[0] == 4]
    assert resumed and resumed[0][1] > first[-1][1]  # iteration continues

    # tools/test.py evaluates the checkpoint on the held-out split
    out = tmp_path / 'preds.pkl'
    res = subprocess.run(
        [sys.executable, 'tools/test.py', CONFIG,
         str(tmp_path / 'epoch_4.pth'), '--work-dir', str(tmp_path / 'test'),
         '--out', str(out)], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-4000:]
    assert 'coco/bbox_mAP: ' in res.stdout + res.stderr
    assert out.is_file()
    again = subprocess.run(
        [sys.executable, 'tools/test.py', CONFIG,
         str(tmp_path / 'epoch_4.pth'), '--out', str(out)], cwd=REPO,
        capture_output=True, text=True)
    assert again.returncode != 0 and 'not overwriting' in again.stderr


def _train_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location('train_tool',
                                                  REPO / 'tools/train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resume_in_an_empty_work_dir_says_it_starts_from_scratch(
        tmp_path, capsys):
    tool = _train_tool()
    cfg = tool.build_cfg(tool.parse_args(
        [CONFIG, '--work-dir', str(tmp_path), '--resume']))
    assert cfg.resume is False
    assert f'no checkpoint in {tmp_path}; training starts from scratch' in \
        capsys.readouterr().err


def test_config_typos_are_named_before_training(tmp_path, capsys):
    from mmglip.utils.cli import run_tool
    tool = _train_tool()
    # a key mmengine would add silently: a warning naming the closest key
    cfg = tool.build_cfg(tool.parse_args(
        [CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
         'model.test_cfg.max_per_imgg=1']))
    err = capsys.readouterr().err
    assert "model.test_cfg has no key 'max_per_imgg' (did you mean " \
        "'max_per_img'?)" in err
    assert cfg.model.test_cfg.max_per_img == 100  # nothing changed
    # a loop option that does not exist: one line, exit 2, no training
    status = run_tool(tool.main, [CONFIG, '--work-dir', str(tmp_path),
                                  '--cfg-options', 'train_cfg.max_epoch=1'])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert lines[-1].startswith("error: train_cfg.max_epoch: "
                                "EpochBasedTrainLoop has no option "
                                "'max_epoch' (did you mean 'max_epochs'?)")
    assert not list(tmp_path.iterdir())  # nothing written
    # a dataloader option torch's DataLoader does not take: one line too
    # (it was a warning, then a TypeError traceback from the runner)
    status = run_tool(tool.main, [CONFIG, '--work-dir', str(tmp_path),
                                  '--cfg-options',
                                  'train_dataloader.batch_sise=1'])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert lines[-1].startswith("error: train_dataloader.batch_sise: torch's "
                                "DataLoader (built by mmengine's runner) has "
                                "no option 'batch_sise' (did you mean "
                                "'batch_size'?)")
    assert not list(tmp_path.iterdir())
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(b'PK\x03\x04' + b'\0' * 100)
    status = run_tool(tool.main, [CONFIG, '--work-dir', str(tmp_path / 'w'),
                                  '--resume', str(cut)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.startswith(
        f'error: {cut}: not a readable PyTorch checkpoint')
    # load_from= a cut file, a JSON file or no file: one line before the
    # runner is built (it was a traceback from mmengine's loader)
    text = tmp_path / 'weights.pth'
    text.write_text('{"not": "weights"}')
    for bad, said in ((cut, 'not a readable PyTorch checkpoint'),
                      (text, 'not a readable PyTorch checkpoint'),
                      (tmp_path / 'nope.pth', 'no such file')):
        status = run_tool(tool.main, [
            CONFIG, '--work-dir', str(tmp_path / 'w2'), '--cfg-options',
            f'load_from={bad}'])
        err = capsys.readouterr().err.strip()
        assert status == 2 and len(err.splitlines()) == 1
        assert str(bad) in err and said in err
        assert not (tmp_path / 'w2').exists()


def test_data_tokenizers_follow_the_model_language_model(tmp_path, capsys):
    """The pretraining data count prompt tokens with the model's tokenizer,
    also when --cfg-options points the model at another copy."""
    tool = _train_tool()
    config = 'configs/glip/pretrain/glip_swin-t_c_pretrain_o365-goldg.py'
    cfg = tool.build_cfg(tool.parse_args(
        [config, '--work-dir', str(tmp_path), '--cfg-options',
         'model.language_model.name=/data/bert-base-uncased']))
    assert "counted with '/data/bert-base-uncased'" in capsys.readouterr().out
    users = []
    for part in cfg.train_dataloader.dataset.datasets:
        if part.type == 'GroundingDataset':
            users.append(part.tokenizer)
        users += [step['tokenizer'] for step in part.pipeline
                  if step['type'] == 'DetectionToGrounding']
    assert users == ['/data/bert-base-uncased'] * 3


def test_a_config_without_validation_data_trains_without_validation(
        tmp_path, capsys):
    """mmengine wants the val loop, data and evaluator all or none (and
    says so with a traceback); a config that drops the data drops the
    inherited loop, and half a triple is one line naming the keys."""
    import pytest

    from mmglip.utils.cli import UserError
    tool = _train_tool()
    cfg = tool.build_cfg(tool.parse_args(
        [CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
         'val_dataloader=None', 'val_evaluator=None']))
    assert cfg.val_cfg is None and cfg.test_cfg is not None
    assert 'val_cfg: no val data in the config, so no val loop' in \
        capsys.readouterr().out
    with pytest.raises(UserError, match='val_dataloader is set but '
                       'val_evaluator is not: give both'):
        tool.build_cfg(tool.parse_args(
            [CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
             'val_evaluator=None']))
