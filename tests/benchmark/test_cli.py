"""tools/benchmark_fewshot.py's argument checks, in-process: one-line
errors (exit 2, no traceback) before any model is built, warnings, help."""
import json

import pytest

from ..conftest import REPO

MODEL = 'configs/glip_lite/glip-lite_raccoon-mini.py'
TASK = 'configs/_base_/datasets/raccoon_mini.py'
SCHEDULE = 'configs/_base_/schedules/odinw_fewshot_cpu.py'


def _one_error(status, err):
    assert status == 2, err
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines() if line.startswith('error:')]
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_task_suggests_the_closest(run_benchmark, tmp_path):
    line = _one_error(*run_benchmark(MODEL, '--tasks', 'Racoon',
                                     '--work-dir', tmp_path)[::2])
    assert "unknown task 'Racoon' (did you mean 'Raccoon'?)" in line
    assert not any(tmp_path.iterdir())


def test_missing_weights_file(run_benchmark, tmp_path):
    status, out, err = run_benchmark(MODEL, '--tasks', TASK, '--weights',
                                     tmp_path / 'nope.pth', '--work-dir',
                                     tmp_path / 'work')
    line = _one_error(status, err)
    assert f'--weights {tmp_path / "nope.pth"}: no such file' in line


def test_work_dir_that_is_a_file(run_benchmark, tmp_path):
    work = tmp_path / 'results.txt'
    work.write_text('not a folder')
    line = _one_error(*run_benchmark(MODEL, '--tasks', TASK, '--work-dir',
                                     work)[::2])
    assert f'--work-dir {work}: is a file' in line


def test_other_bad_inputs(run_benchmark, tmp_path):
    status, _, err = run_benchmark(MODEL, '--tasks', 'Raccoon', '--data-root',
                                   tmp_path / 'odinw', '--work-dir', tmp_path)
    assert '--data-root' in _one_error(status, err)
    status, _, err = run_benchmark(MODEL, '--tasks', TASK, '--schedule',
                                   'no_schedule.py', '--work-dir', tmp_path)
    assert '--schedule no_schedule.py: no such file' in _one_error(
        status, err)
    status, _, err = run_benchmark(MODEL, '--tasks', TASK, '--shots', '2',
                                   '--work-dir', tmp_path)
    assert "--shots '2'" in _one_error(status, err)
    (tmp_path / 'x').mkdir()
    twin = tmp_path / 'x' / 'raccoon_mini.py'
    twin.write_text(f'_base_ = {str(REPO / TASK)!r}\n')
    status, _, err = run_benchmark(MODEL, '--tasks', TASK, twin,
                                   '--work-dir', tmp_path / 'work')
    assert "would both be task 'raccoon_mini'" in _one_error(status, err)


def test_unknown_cfg_option_warned_before_refusal(run_benchmark, tmp_path):
    """The cfg-options are checked against the model config before the work
    dir (here one of the old record format with a finished run, refused)
    is looked at."""
    (tmp_path / 'benchmark.json').write_text(json.dumps(dict(
        model_config=str(REPO / MODEL), weights=None, cfg_options={})))
    run_dir = tmp_path / 'runs/raccoon_mini/full/shot1_seed3'
    run_dir.mkdir(parents=True)
    (run_dir / 'result.json').write_text('{"ap": 1.0}')
    status, _, err = run_benchmark(
        MODEL, '--tasks', TASK, '--schedule', SCHEDULE, '--work-dir',
        tmp_path, '--cfg-options', 'model.test_cfg.score_thrr=0.1')
    assert "warning: --cfg-options model.test_cfg.score_thrr: " \
        "model.test_cfg has no key 'score_thrr' (did you mean " \
        "'score_thr'?)" in err
    assert 'older mmglip' in _one_error(status, err)


def test_help(benchmark_tool, capsys):
    with pytest.raises(SystemExit) as info:
        benchmark_tool.parse_args(['--help'])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert 'configs/_base_/schedules/odinw_fewshot_cpu.py' in text
    assert '--shots 1 --seeds 3' in text  # the short check
    assert '(default: 0 1 3 5 10)' in text and '--keep-checkpoints' in text
    assert '--debug' in text
