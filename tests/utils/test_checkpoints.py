"""mmglip.utils.checkpoints on real (small) torch checkpoints: the newest
readable one is found, files cut short are set aside, weights-only files
and clean-up."""
import os
import subprocess
import sys

import pytest
import torch

from mmglip.utils.checkpoints import (checkpoint_files,
                                      latest_readable_checkpoint,
                                      remove_checkpoints, save_weights_only)


def _save(path, epoch, **extra):
    """A small mmengine-like checkpoint."""
    torch.save(dict(meta=dict(epoch=epoch),
                    state_dict={'w': torch.full((64, ), float(epoch))},
                    optimizer={'state': {}}, **extra), path)
    return str(path)


def _cut(path, keep=0.6):
    """Cut the end off a file, as a kill while writing it does."""
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def test_newest_readable_and_truncated_set_aside(tmp_path):
    for epoch in (1, 2, 10):
        _save(tmp_path / f'epoch_{epoch}.pth', epoch)
    _cut(tmp_path / 'epoch_10.pth')
    seen = []
    found = latest_readable_checkpoint(
        str(tmp_path), on_set_aside=lambda *a: seen.append(a))
    # epoch_10 is newer than epoch_2 by number (not by name order)
    assert found == str(tmp_path / 'epoch_2.pth')
    assert not (tmp_path / 'epoch_10.pth').exists()
    assert (tmp_path / 'epoch_10.pth.incomplete').is_file()
    (path, moved_to, error), = seen
    assert path == str(tmp_path / 'epoch_10.pth')
    assert moved_to == path + '.incomplete'
    assert isinstance(error, Exception)
    # the readable ones are untouched; a second call finds the same
    assert latest_readable_checkpoint(str(tmp_path)) == found
    assert torch.load(found, weights_only=False)['meta']['epoch'] == 2


def test_iter_checkpoints_and_nothing_readable(tmp_path):
    for it in (9, 10):
        _save(tmp_path / f'iter_{it}.pth', it)
    assert latest_readable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'iter_10.pth')
    _cut(tmp_path / 'iter_10.pth')
    (tmp_path / 'iter_9.pth').write_bytes(b'')  # killed right at the start
    assert latest_readable_checkpoint(str(tmp_path)) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ['iter_10.pth.incomplete', 'iter_9.pth.incomplete']


def test_not_a_checkpoint_dict_is_set_aside(tmp_path):
    _save(tmp_path / 'epoch_1.pth', 1)
    torch.save([1, 2, 3], tmp_path / 'epoch_2.pth')
    assert latest_readable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_1.pth')
    assert (tmp_path / 'epoch_2.pth.incomplete').is_file()


def test_last_checkpoint_file(tmp_path):
    # a custom file name is only known through last_checkpoint
    _save(tmp_path / 'epoch_1.pth', 1)
    custom = _save(tmp_path / 'model_step7.pth', 7)
    (tmp_path / 'last_checkpoint').write_text(custom)
    assert latest_readable_checkpoint(str(tmp_path)) == custom

    # a work dir that was moved: the pointer's folder no longer exists
    moved = tmp_path / 'moved'
    moved.mkdir()
    _save(moved / 'ckpt_a.pth', 3)
    (moved / 'last_checkpoint').write_text('/gone/away/ckpt_a.pth')
    assert latest_readable_checkpoint(str(moved)) == \
        str(moved / 'ckpt_a.pth')

    # epoch_3 written completely after the pointer named epoch_2 (killed
    # before last_checkpoint was updated): epoch_3 is newer
    run = tmp_path / 'run'
    run.mkdir()
    _save(run / 'epoch_2.pth', 2)
    _save(run / 'epoch_3.pth', 3)
    (run / 'last_checkpoint').write_text(str(run / 'epoch_2.pth'))
    assert latest_readable_checkpoint(str(run)) == str(run / 'epoch_3.pth')

    # a pointer to a file cut short: set aside, the numbered one is used
    _cut(tmp_path / 'model_step7.pth')
    assert latest_readable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_1.pth')
    assert (tmp_path / 'model_step7.pth.incomplete').is_file()
    assert (tmp_path / 'last_checkpoint').is_file()  # left as it was


def test_no_checkpoints(tmp_path):
    assert latest_readable_checkpoint(str(tmp_path / 'missing')) is None
    (tmp_path / 'best_coco_bbox_mAP_epoch_3.pth').write_bytes(b'x')
    (tmp_path / 'notes.txt').write_text('epoch_1.pth')
    assert latest_readable_checkpoint(str(tmp_path)) is None
    # best_* is not a resume point and is not touched
    assert (tmp_path / 'best_coco_bbox_mAP_epoch_3.pth').is_file()


def test_save_weights_only_and_remove(tmp_path):
    full = torch.load(_save(tmp_path / 'best_coco_bbox_mAP_epoch_2.pth', 2,
                            message_hub={'x': 1}), weights_only=False)
    out = save_weights_only(full, str(tmp_path / 'weights_best.pth'))
    kept = torch.load(out, weights_only=False)
    assert set(kept) == {'state_dict', 'meta'}
    assert torch.equal(kept['state_dict']['w'], full['state_dict']['w'])
    assert not list(tmp_path.glob('*.part'))

    for epoch in (1, 2):
        _save(tmp_path / f'epoch_{epoch}.pth', epoch)
    (tmp_path / 'last_checkpoint').write_text('epoch_2.pth')
    (tmp_path / 'epoch_3.pth.incomplete').write_bytes(b'cut')
    (tmp_path / 'result.json').write_text('{}')
    assert [os.path.basename(p) for p in checkpoint_files(str(tmp_path))] \
        == ['best_coco_bbox_mAP_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth',
            'epoch_3.pth.incomplete', 'last_checkpoint']
    removed = remove_checkpoints(
        str(tmp_path), keep=[str(tmp_path / 'epoch_2.pth')])
    assert len(removed) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ['epoch_2.pth', 'result.json', 'weights_best.pth']


def test_save_weights_only_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / 'weights_best.pth'

    def broken_save(obj, f):
        f.write(b'half a file')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(OSError):
        save_weights_only(dict(state_dict={}, meta={}), str(target))
    assert list(tmp_path.iterdir()) == []


def test_import_is_light():
    code = ('import sys, mmglip.utils.checkpoints; '
            'print(sorted(m for m in ("torch", "mmdet", "mmengine") '
            'if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == '[]'
