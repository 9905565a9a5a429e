"""tools/analysis/benchmark.py: a quick glip-lite run gives the table's
shape; argument mistakes are one-line errors; with MMGLIP_REF_PYTHON a tiny
side-by-side run of GLIP-T (A). No timing assertions."""
import os
import re
from pathlib import Path

import pytest

from ..conftest import DEMO_DATA, REPO
from ..tool_modules import load_tool

TOOL = 'tools/analysis/benchmark.py'
IMAGES = str(DEMO_DATA / 'raccoon_mini/valid')
ROW = re.compile(r'^\| ([a-d]) \| ([\w-]+) \| ([^|]+) \| ([^|]+) \| '
                 r'([^|]+) \| ([^|]+) \|$')


def _rows(text):
    return [ROW.match(line).groups() for line in text.splitlines()
            if line.startswith('| ') and not line.startswith(('| part',
                                                              '| ---'))]


def test_glip_lite_table_shape(tmp_path, capsys):
    out = tmp_path / 'table.md'
    assert load_tool(TOOL).main([
        '--variants', 'glip-lite', '--parts', 'a', '--images', IMAGES,
        '--num-images', '1', '--size', '128', '160', '--warmup', '0',
        '--reps', '1', '--threads', '1', '--out', str(out)]) == 0
    text = out.read_text()
    assert _rows(capsys.readouterr().out) == _rows(text)
    header = text.splitlines()[0]
    for word in ('warm-up 0', 'repetitions 1', 'medians', 'threads 1',
                 'device cpu', 'cores', '128 x 160'):
        assert word in header, word
    rows = _rows(text)
    assert [r[:2] for r in rows] == [('a', 'glip-lite')]
    part, variant, setting, ours, ref, ratio = [c.strip() for c in rows[0]]
    assert float(ours) > 0 and ref == 'n/a' and ratio == '-'


def test_part_c_with_checkpointing_on_only(tmp_path, capsys):
    """--checkpointing on: only the checkpointed training step (time and
    peak memory), for full-size steps that fit memory."""
    assert load_tool(TOOL).main([
        '--variants', 'glip-lite', '--parts', 'c', '--checkpointing', 'on',
        '--images', IMAGES, '--num-images', '1', '--size', '128', '160',
        '--warmup', '0', '--reps', '1', '--threads', '1',
        '--work-dir', str(tmp_path)]) == 0
    rows = [[c.strip() for c in r] for r in _rows(capsys.readouterr().out)]
    assert [r[2] for r in rows] == [
        'train batch 2, checkpointing on, s / step',
        'train batch 2, checkpointing on, peak MB']
    assert all(float(r[3]) > 0 for r in rows)


@pytest.mark.parametrize('args,message', [
    (['--parts', 'd'], 'needs a GPU'),
    (['--images', '/no/such/folder'], 'no such folder'),
    (['--checkpoint', 'glip-t_x=a.pth'], 'VARIANT=FILE'),
    (['--checkpoint', 'glip-t_a=' + str(
        Path(__file__).resolve().parents[2] / 'README.md')],
     'not a readable PyTorch checkpoint'),
    (['--variants', 'glip-t_a', '--images', IMAGES], '--ref-python'),
])
def test_mistakes_are_one_line_errors(args, message, capsys, tmp_path):
    from mmglip.utils.cli import run_tool
    tool = load_tool(TOOL)
    argv = args + ['--work-dir', str(tmp_path)]
    assert run_tool(tool.main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and '\n' not in err
    assert message in err


@pytest.mark.skipif(not os.environ.get('MMGLIP_REF_PYTHON'),
                    reason='MMGLIP_REF_PYTHON (the reference venv) not set')
def test_tiny_side_by_side_run(tmp_path, capsys):
    ref = os.environ['MMGLIP_REF_PYTHON']
    assert load_tool(TOOL).main([
        '--variants', 'glip-t_a', '--parts', 'a', '--images', IMAGES,
        '--num-images', '1', '--size', '128', '160', '--warmup', '0',
        '--reps', '1', '--ref-python', str(REPO / ref) if not
        os.path.isabs(ref) else ref, '--work-dir', str(tmp_path)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert len(rows) == 1
    part, variant, setting, ours, theirs, ratio = [c.strip()
                                                   for c in rows[0]]
    assert variant == 'glip-t_a'
    assert float(ours) > 0 and float(theirs) > 0 and float(ratio) > 0
