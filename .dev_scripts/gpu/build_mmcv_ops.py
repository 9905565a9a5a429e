#!/usr/bin/env python
"""Build mmcv 2.1.0's compiled ops from its sdist, only the ops GLIP runs.

    python .dev_scripts/gpu/build_mmcv_ops.py mmcv-2.1.0.tar.gz DEST \
        [--ops nms modulated_deform_conv] [--cuda]

Unpacks the sdist into DEST, keeps the sources of the named ops (their
dispatcher ``pytorch/OP.cpp``, CPU ``pytorch/cpu/OP.cpp`` and CUDA
``pytorch/cuda/OP_cuda.cu``), trims the two files that bind every op
(``pybind.cpp``: the ``m.def`` lines of ops left out; ``cuda/cudabind.cpp``:
the launcher / registration groups of ops left out) and builds the extension
in place (``setup.py build_ext --inplace``); ``PYTHONPATH=DEST`` then imports
this mmcv. ``mmcv.ops`` imports as usual; an op left out raises
``AttributeError`` when called.

Why: a GPU machine lent for a benchmark has 15 minutes in all, and mmcv has
no wheel for its torch / CUDA; all ~60 CUDA ops take most of that to compile,
GLIP needs two (``nms`` and ``modulated_deform_conv``: DyHead and the
detections' NMS, in mmglip and in MMDetection's port alike). The sources are
mmcv's own, unchanged apart from what is left out; nothing of them is kept in
this repository.

Environment: ``--cuda`` sets ``FORCE_CUDA=1`` (give ``TORCH_CUDA_ARCH_LIST``,
e.g. 9.0, and ``MAX_JOBS``); mmcv's setup.py needs setuptools < 70 on the path.
"""
import argparse
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import tarfile

KEEP_ALWAYS = ('info.cpp', 'pybind.cpp')


def split_items(text):
    """Top-level C++ items: declarations / statements ending in ``;`` and
    definitions ending in their closing brace; comments, preprocessor lines
    and blank space go with the item that follows them."""
    items, depth, start, i, n = [], 0, 0, 0, len(text)
    while i < n:
        if text.startswith('//', i):
            i = text.find('\n', i)
            i = n if i < 0 else i
            continue
        if text.startswith('/*', i):
            i = text.find('*/', i) + 2
            continue
        c = text[i]
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == '\\' else 1
        elif c in '({':
            depth += 1
        elif c in ')}':
            depth -= 1
            if c == '}' and depth == 0:
                items.append(text[start:i + 1])
                start = i + 1
        elif c == ';' and depth == 0:
            items.append(text[start:i + 1])
            start = i + 1
        i += 1
    tail = text[start:]
    return items, tail


def defined_functions(paths):
    """Names of the functions defined (with a body) in these files."""
    names = set()
    for path in paths:
        items, _ = split_items(open(path).read())
        for item in items:
            if item.rstrip().endswith('}'):
                head = item[:item.find('{')]
                m = re.search(r'(\w+)\s*\([^{]*$', head, re.S)
                if m:
                    names.add(m.group(1))
    return names


def trim_pybind(path, defined):
    text = open(path).read()
    at = text.index('PYBIND11_MODULE')
    body_start = text.index('{', at) + 1
    body_end = text.rindex('}')
    items, tail = split_items(text[body_start:body_end])
    kept, dropped = [], []
    for item in items:
        m = re.search(r'm\.def\(\s*"(\w+)"\s*,\s*&(\w+)', item)
        if m and m.group(2) not in defined:
            dropped.append(m.group(1))
            continue
        kept.append(item)
    with open(path, 'w') as f:
        f.write(text[:body_start] + ''.join(kept) + tail + text[body_end:])
    return dropped


def trim_cudabind(path, defined):
    """Keep the groups (declarations ... REGISTER_DEVICE_IMPL lines) whose
    registered dispatcher is defined in a kept source."""
    items, tail = split_items(open(path).read())
    groups, current = [], []
    for k, item in enumerate(items):
        current.append(item)
        is_reg = 'REGISTER_DEVICE_IMPL' in item
        next_reg = (k + 1 < len(items)
                    and "REGISTER_DEVICE_IMPL" in items[k + 1])
        if is_reg and not next_reg:
            groups.append(current)
            current = []
    header = ''.join(re.findall(r'^#include[^\n]*\n', ''.join(items[:1]),
                                re.M))
    kept = []
    for group in groups:
        regs = [re.search(r'REGISTER_DEVICE_IMPL\(\s*(\w+)', it).group(1)
                for it in group if 'REGISTER_DEVICE_IMPL' in it]
        if all(r in defined for r in regs):
            kept.append(''.join(group))
        elif any(r in defined for r in regs):
            raise SystemExit(f'cudabind.cpp: a group registers {regs}, only '
                             'some of them kept; name all their ops.')
    with open(path, 'w') as f:
        f.write(header + ''.join(kept).lstrip('\n') + '\n')
    return len(kept), len(groups)


def match_torch_std(root):
    """mmcv 2.1.0's setup.py compiles with -std=c++17; newer torch headers
    (torch >= 2.10 builds its extensions with C++20) need what torch uses."""
    import torch.utils.cpp_extension as cpp
    if "'-std=c++20'" not in open(cpp.__file__).read():
        return 'c++17'
    path = osp.join(root, 'setup.py')
    text = open(path).read()
    with open(path, 'w') as f:
        f.write(text.replace("'-std=c++17'", "'-std=c++20'"))
    return 'c++20'


def patch_ext_loader(root):
    path = osp.join(root, 'mmcv', 'utils', 'ext_loader.py')
    text = open(path).read()
    old = "assert hasattr(ext, fun), f'{fun} miss in module {name}'"
    if old not in text:
        raise SystemExit(f'{path}: the expected load_ext check is not there '
                         '(not mmcv 2.1.0?)')
    with open(path, 'w') as f:
        f.write(text.replace(old, 'pass  # ops left out by build_mmcv_ops'))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('sdist', help='mmcv-2.1.0.tar.gz')
    p.add_argument('dest', help='folder to unpack and build in')
    p.add_argument('--ops', nargs='+',
                   default=['nms', 'modulated_deform_conv'])
    p.add_argument('--cuda', action='store_true', help='FORCE_CUDA=1')
    p.add_argument('--no-build', action='store_true',
                   help='trim the sources only')
    args = p.parse_args()

    if not (osp.isfile(args.sdist) and tarfile.is_tarfile(args.sdist)):
        raise SystemExit(f'{args.sdist}: not an sdist (.tar.gz) file; '
                         'fetch_wheels.sh downloads mmcv-2.1.0.tar.gz')
    os.makedirs(args.dest, exist_ok=True)
    with tarfile.open(args.sdist) as tar:
        top = tar.getnames()[0].split('/')[0]
        tar.extractall(args.dest, filter='data')
    root = osp.join(args.dest, top)
    src = osp.join(root, 'mmcv', 'ops', 'csrc', 'pytorch')
    keep = {osp.join(src, f) for f in KEEP_ALWAYS}
    for op in args.ops:
        found = [f for f in (osp.join(src, f'{op}.cpp'),
                             osp.join(src, 'cpu', f'{op}.cpp'),
                             osp.join(src, 'cuda', f'{op}_cuda.cu'))
                 if osp.isfile(f)]
        if not found:
            raise SystemExit(f'--ops {op}: no sources pytorch/{op}.cpp in '
                             f'{args.sdist}')
        keep.update(found)
    for pattern in ('*.cpp', 'cpu/*.cpp', 'cuda/*.cu'):
        for f in glob.glob(osp.join(src, pattern)):
            if f not in keep:
                os.remove(f)
    defined = defined_functions(sorted(keep - {osp.join(src, 'pybind.cpp')}))
    dropped = trim_pybind(osp.join(src, 'pybind.cpp'), defined)
    groups = trim_cudabind(osp.join(src, 'cuda', 'cudabind.cpp'), defined)
    patch_ext_loader(root)
    std = match_torch_std(root)
    print(f'kept {len(keep)} sources for {args.ops}; pybind: '
          f'{len(dropped)} bindings left out; cudabind: {groups[0]} of '
          f'{groups[1]} groups kept; {std}', flush=True)
    if args.no_build:
        return 0
    env = dict(os.environ, MMCV_WITH_OPS='1')
    if args.cuda:
        env['FORCE_CUDA'] = '1'
    return subprocess.call([sys.executable, 'setup.py', 'build_ext',
                            '--inplace'], cwd=root, env=env)


if __name__ == '__main__':
    sys.exit(main())
