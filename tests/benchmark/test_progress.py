"""The benchmark's console lines (issue 19 item 8): run i of N, progress
with an estimate of the time left for all runs, each run's AP as it
finishes. A fake clock, so the estimates are exact numbers worked out here
by hand; the lines of a real run are checked in test_fewshot_benchmark.py.
"""
import io

from mmglip.benchmark import plan_runs
from mmglip.benchmark.progress import BenchmarkProgress, format_duration


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _lines(stream):
    return stream.getvalue().splitlines()


def test_format_duration():
    assert format_duration(0.4) == '0 s'
    assert format_duration(59.6) == '1 min 00 s'
    assert format_duration(125) == '2 min 05 s'
    assert format_duration(2 * 3600 + 7 * 60 + 20) == '2 h 07 min'


def test_run_numbers_aps_and_eta():
    # zero-shot, then two trained runs; the first trained run was finished
    # by an earlier call: it keeps its number, 3 runs in all
    runs = plan_runs(['A'], [0, 1], [3, 30, 300], ['full'])
    assert [r.name for r in runs] == [
        'A/zero-shot/shot0_seed0', 'A/full/shot1_seed3',
        'A/full/shot1_seed30', 'A/full/shot1_seed300']
    todo = [runs[0], runs[2], runs[3]]
    out, clock = io.StringIO(), Clock()
    progress = BenchmarkProgress(runs, todo, stream=out, clock=clock)

    progress.start(runs[0])
    # nothing timed: no estimate at all before the first quarter
    assert progress.eta() == dict(seconds=None, exact=False)
    clock.now += 10
    progress.update(0.25, '2/8 images')
    # 30 s left of this run (10 s for a quarter); the trained runs are not
    # timed yet, so that is a lower bound
    assert _lines(out)[-1] == ('[benchmark] run 1/4 A/zero-shot/shot0_seed0:'
                               ' 2/8 images; ETA more than 30 s')
    clock.now += 30
    progress.finish(dict(ap=0.8999999999999999,
                         eval_file='A/valid/annotations.json'))
    assert _lines(out)[-1] == (
        '[benchmark] run 1/4 A/zero-shot/shot0_seed0: AP 0.9 on the valid '
        'split (took 40 s); 2 run(s) left, ETA not known yet')

    progress.start(runs[2])
    assert _lines(out)[-1] == \
        '[benchmark] run 3/4 A/full/shot1_seed30: full tuning'
    clock.now += 60
    progress.update(0.5, 'epoch 6/12, val AP 10.0')
    # this run: 60 s more; the next trained run: as this one, 120 s
    assert progress.eta() == dict(seconds=180.0, exact=True)
    assert _lines(out)[-1].endswith('epoch 6/12, val AP 10.0; ETA 3 min 00 s')
    clock.now += 40  # faster than projected
    progress.finish(dict(ap=25.04, eval_file='A/test/annotations.json'))
    assert _lines(out)[-1] == (
        '[benchmark] run 3/4 A/full/shot1_seed30: AP 25.0 on the test split '
        '(took 1 min 40 s); 1 run(s) left, ETA 1 min 40 s')

    progress.start(runs[3])
    clock.now += 5
    progress.note('testing the best checkpoint on 8 images')
    assert _lines(out)[-1] == ('[benchmark] run 4/4 A/full/shot1_seed300: '
                               'testing the best checkpoint on 8 images')
    progress.finish(dict(ap=30, eval_file='A/test/annotations.json'))
    assert _lines(out)[-1].endswith('(took 5 s); all runs of this call done')


def test_worker_prefix_and_one_folder_split():
    runs = plan_runs(['pistols'], [0], [3], ['full'])
    out = io.StringIO()
    progress = BenchmarkProgress(runs, runs, worker='w1/2', stream=out,
                                 clock=Clock())
    progress.start(runs[0])
    progress.finish(dict(
        ap=5, eval_file='pistols/export/val_annotations_without_background'
        '.json'))
    assert _lines(out) == [
        '[benchmark w1/2] run 1/1 pistols/zero-shot/shot0_seed0: zero-shot '
        'evaluation',
        '[benchmark w1/2] run 1/1 pistols/zero-shot/shot0_seed0: AP 5.0 on '
        'the val split (took 0 s); all runs of this call done']
