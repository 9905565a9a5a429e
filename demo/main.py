#!/usr/bin/env python
"""The main job on the embedded default: the few-shot benchmark of
glip-lite on the vendored Raccoon subset, on CPU, printing the table.

    python demo/main.py [--work-dir D] [--seeds 3 30] [--shots 0 1 3 10]

glip-lite is GLIP's full data path (prompt -> BERT -> fusion tower -> VL ATSS
head) built from offline pretrained parts that ship on PyPI (see
configs/_base_/models/glip_lite.py); it is not detection-pretrained, so its
zero-shot AP is near 0 and it learns "raccoon" from the k shots. The
benchmark is resumable: a second call reuses every finished run and only
prints the table again. Equivalent to

    python tools/benchmark_fewshot.py glip-lite \
        --tasks configs/_base_/datasets/raccoon_mini.py \
        --schedule configs/_base_/schedules/odinw_fewshot_cpu.py \
        --shots 0 1 3 10 --seeds 3 30 --work-dir work_dirs/demo_fewshot
"""
import argparse
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs',
                                                  'demo_fewshot'))
    p.add_argument('--shots', nargs='+', default=['0', '1', '3', '10'])
    p.add_argument('--seeds', nargs='+', default=['3', '30'])
    p.add_argument('--debug', action='store_true',
                   help='show the traceback of errors in the input too')
    args = p.parse_args()
    os.chdir(REPO)  # the demo data paths are relative to the repository
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from benchmark_fewshot import main as benchmark

    from mmglip.utils.cli import run_tool
    return run_tool(benchmark, [
        'glip-lite', '--tasks',
        osp.join(REPO, 'configs/_base_/datasets/raccoon_mini.py'),
        '--schedule',
        osp.join(REPO, 'configs/_base_/schedules/odinw_fewshot_cpu.py'),
        '--shots', *args.shots, '--seeds', *args.seeds, '--work-dir',
        args.work_dir
    ] + (['--debug'] if args.debug else []))


if __name__ == '__main__':
    sys.exit(main())
