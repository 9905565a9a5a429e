#!/usr/bin/env python
"""The main job on the embedded default: the few-shot benchmark of
glip-lite and its closed-set baseline dyhead-lite on the vendored Raccoon
subset, on CPU, printing the table.

    python demo/main.py [--work-dir D] [--seeds 3 30] [--shots 0 1 3 10]
        [--no-baseline]

glip-lite is GLIP's full data path (prompt -> BERT -> fusion tower -> VL ATSS
head) built from offline pretrained parts that ship on PyPI (see
configs/_base_/models/glip_lite.py); it is not detection-pretrained, so its
zero-shot AP is near 0 and it learns "raccoon" from the k shots.
dyhead-lite is the same visual tower without language: a classifier of the
task's classes (mmdet's ATSS head), as the paper's DyHead-T baseline; it
has no zero-shot run ("-"), the same k-shot files and seeds otherwise.
The benchmark is resumable: a second call reuses every finished run and
only prints the table again. Equivalent to

    python tools/benchmark_fewshot.py glip-lite --baseline \
        --tasks configs/_base_/datasets/raccoon_mini.py \
        --schedule configs/_base_/schedules/odinw_fewshot_cpu.py \
        --shots 0 1 3 10 --seeds 3 30 --work-dir work_dirs/demo_main

(--no-baseline: glip-lite alone, its runs at the top of the work dir, as
before the baseline; give it another --work-dir than the default's.)
"""
import argparse
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default=None,
                   help='default: work_dirs/demo_main (work_dirs/'
                   'demo_fewshot with --no-baseline)')
    p.add_argument('--no-baseline', action='store_true',
                   help='glip-lite only, without dyhead-lite')
    p.add_argument('--shots', nargs='+', default=['0', '1', '3', '10'])
    p.add_argument('--seeds', nargs='+', default=['3', '30'])
    p.add_argument('--debug', action='store_true',
                   help='show the traceback of errors in the input too')
    args = p.parse_args()
    if args.work_dir is None:
        args.work_dir = osp.join(
            REPO, 'work_dirs',
            'demo_fewshot' if args.no_baseline else 'demo_main')
    os.chdir(REPO)  # the demo data paths are relative to the repository
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from benchmark_fewshot import main as benchmark

    from mmglip.utils.cli import run_tool
    return run_tool(benchmark, [
        'glip-lite', *([] if args.no_baseline else ['--baseline']),
        '--tasks',
        osp.join(REPO, 'configs/_base_/datasets/raccoon_mini.py'),
        '--schedule',
        osp.join(REPO, 'configs/_base_/schedules/odinw_fewshot_cpu.py'),
        '--shots', *args.shots, '--seeds', *args.seeds, '--work-dir',
        args.work_dir
    ] + (['--debug'] if args.debug else []))


if __name__ == '__main__':
    sys.exit(main())
