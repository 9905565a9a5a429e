#!/usr/bin/env python
"""Maintain the model zoo's documents from the model index (for mmglip's
maintainers; users read the index through mmglip.zoo.index).

    python .dev_scripts/model_index.py             # list the zoo
    python .dev_scripts/model_index.py --markdown  # model_zoo.md's tables
    python .dev_scripts/model_index.py --update model_zoo.md
    python .dev_scripts/model_index.py --check     # index, md, configs agree
    python .dev_scripts/model_index.py --mim-overlay DIR --mirror URL

The index (model-index.yml and the metafiles it imports) is the single
source of truth; the tables of model_zoo.md between the markers below are
generated from it, and --check (run by the tests) fails when they, the
index and the configs disagree.
"""
import argparse
import difflib
import os
import os.path as osp
import re
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Union

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import yaml  # noqa: E402

from mmglip.utils.cli import (HelpFormatter, add_debug_flag,  # noqa: E402
                              run_tool)
from mmglip.utils.io import atomic_write  # noqa: E402
from mmglip.zoo.index import (ModelIndex, ZooEntry, _num,  # noqa: E402
                              format_list, load_index)

#: markers around the generated part of model_zoo.md
MD_BEGIN = ('<!-- BEGIN zoo-index: generated from model-index.yml by '
            '`python .dev_scripts/model_index.py --update model_zoo.md`; '
            'edit the metafiles, not this block -->')
MD_END = '<!-- END zoo-index -->'
#: how the begin marker starts, whatever its wording (--update rewrites it)
MD_BEGIN_TAG = '<!-- BEGIN zoo-index'


def _size(entry: ZooEntry) -> str:
    if entry.file_size is None:
        return 'not measured'
    gb = entry.file_size / 1e9
    return f'{gb:.2f} GB ({entry.file_size:,} bytes)'


def _sha(entry: ZooEntry) -> str:
    if entry.sha256 is None:
        return 'not pinned (the hub\'s LFS SHA-256 is checked)'
    return f'`{entry.sha256[:16]}...`'


def _link(rel: Optional[str]) -> str:
    return f'[`{osp.basename(rel)}`]({rel})' if rel else '-'


def _measured(entry: ZooEntry, dataset: str) -> str:
    """The numbers mmglip measured itself on ``dataset``; empty if none."""
    return '; '.join(', '.join(f'{k} {_num(v)}' for k, v in r.metrics.items())
                     for r in entry.results
                     if r.dataset == dataset and r.measured_by_mmglip)


def _flickr(entry: ZooEntry) -> str:
    """Published Flickr30k test R@1, with MMDetection's in brackets."""
    official = entry.metric('Flickr30k', 'R@1')
    mmdet = entry.metric('Flickr30k', 'R@1 MMDetection')
    cell = _num(official)
    if mmdet is not None:
        cell = f'{cell} ({_num(mmdet)} MMDetection)'
    return cell


def _evaluation_table(entries: List[ZooEntry]) -> List[str]:
    """Per variant: the evaluation configs beside the published LVIS
    minival, Flickr30k and ODinW-13 zero-shot numbers, and a cell for each
    that only a measurement with the real weights fills (Source: mmglip)."""
    lines = [
        '', '### Zero-shot evaluation: configs and published numbers', '',
        'LVIS minival (GLIP paper Table 2): AP / APr / APc / APf. Flickr30k '
        'Entities: test R@1 of the official model as MMDetection 3.3\'s GLIP '
        'README quotes it, MMDetection\'s own re-evaluation in brackets (no '
        'published GLIP-L number was found). '
        'ODinW-13: average AP of the 13 tasks, zero-shot as published '
        '(`tools/benchmark_fewshot.py MODEL --shots 0`, official evaluation '
        'splits; configs/_base_/datasets/odinw/README.md). The "mmglip" '
        'cells stay empty until measured with the real weights.', '',
        '| model | LVIS minival config | LVIS AP / APr / APc / APf | LVIS '
        'mmglip | Flickr30k config | Flickr30k R@1 | Flickr30k mmglip | '
        'ODinW-13 AP | ODinW-13 mmglip |',
        '|---|---|---|---|---|---|---|---|---|']
    for e in entries:
        lvis = ' / '.join(_num(e.metric('LVIS minival', k))
                          for k in ('AP', 'APr', 'APc', 'APf'))
        flickr = e.metadata.get('Flickr30k Config')
        lines.append(
            f'| {e.display_name} | {_link(e.metadata.get("LVIS Config"))} | '
            f'{lvis} | {_measured(e, "LVIS minival")} | '
            f'{_link(flickr) if flickr else "-"} | '
            f'{_flickr(e)} | '
            f'{_measured(e, "Flickr30k")} | '
            f'{_num(e.metric("ODinW-13", "AP"))} | '
            f'{_measured(e, "ODinW-13")} |')
    return lines


def zoo_markdown(index: Optional[ModelIndex] = None) -> str:
    """The tables of model_zoo.md, generated from the index (between
    :data:`MD_BEGIN` and :data:`MD_END`)."""
    index = index or load_index()
    entries = list(index)
    lines = [MD_BEGIN, '', '### Released models', '',
             '| model | name | config: zero-shot / fine-tune | weights '
             '(download location) | file size | SHA-256 | pretraining data |',
             '|---|---|---|---|---|---|---|']
    for e in entries:
        lines.append(
            f'| {e.display_name} | `{e.name}` | {_link(e.config)} / '
            f'{_link(e.finetune_config)} | [`{e.weight_file}`]({e.weights}) '
            f'| {_size(e)} | {_sha(e)} | {e.pretraining_data or "-"} |')
    lines += [
        '', '### Published numbers', '',
        'Zero-shot unless marked; **published** = GLIP paper / official '
        'README. The last column holds only numbers mmglip measured itself '
        '(see "Measured by mmglip" below).', '',
        '| model | COCO val2017 box AP: zero-shot / fine-tuned | LVIS minival '
        'AP (APr) | ODinW-13 AP | measured by mmglip |',
        '|---|---|---|---|---|']
    for e in entries:
        odinw = _num(e.metric('ODinW-13', 'AP'))
        paper = e.metric('ODinW-13', 'AP paper')
        if paper is not None:
            odinw += f' / {_num(paper)} [1]'
        measured = '; '.join(
            f'{r.dataset} ' + ', '.join(f'{k} {_num(v)}'
                                        for k, v in r.metrics.items())
            for r in e.results if r.measured_by_mmglip) or 'not yet'
        lines.append(
            f'| {e.display_name} | {_num(e.metric("COCO", "box AP"))} / '
            f'{_num(e.metric("COCO", "fine-tuned box AP"))} | '
            f'{_num(e.metric("LVIS minival", "AP"))} '
            f'({_num(e.metric("LVIS minival", "APr"))}) | {odinw} | '
            f'{measured} |')
    lines += _evaluation_table(entries)
    if any(e.metric('ODinW-13', 'AP paper') is not None for e in entries):
        lines += ['', '[1] the official README\'s number for the released '
                  'file / the paper\'s (few-shot table, 0-shot).']
    lines += [
        '', 'MMDetection 3.3 re-evaluated the converted official weights '
        '(published by MMDetection, not measured by mmglip):', '',
        '| model | COCO val2017 box AP | ODinW-13 AP |', '|---|---|---|']
    for e in entries:
        lines.append(
            f'| {e.display_name} | '
            f'{_num(e.metric("COCO", "box AP MMDetection"))} | '
            f'{_num(e.metric("ODinW-13", "AP MMDetection"))} |')
    lvis = [e for e in entries
            if e.metric('LVIS minival', 'APr last checkpoint') is not None]
    if lvis:
        lines += [
            '', 'LVIS minival APr of the released files (official README): '
            'the zoo file is the last pre-training checkpoint; the official '
            'repository also published the best-on-LVIS checkpoint, on its '
            'retired Azure store only (no verified location today, so not '
            'downloadable here):', '',
            '| model | zoo file (last checkpoint) | LVIS-best checkpoint | '
            'LVIS-best file |', '|---|---|---|---|']
        for e in lvis:
            lines.append(
                f'| {e.display_name} | '
                f'{_num(e.metric("LVIS minival", "APr last checkpoint"))} | '
                f'{_num(e.metric("LVIS minival", "APr LVIS-best checkpoint"))}'
                f' | `{e.lvisbest_file or "-"}` |')
    few = [(e, prefix, label) for e in entries
           for prefix, label in (('', 'full'),
                                 ('prompt tuning ', 'prompt tuning'),
                                 ('linear probe ', 'linear probe'))
           if e.metric('ODinW-13', f'{prefix}1-shot AP') is not None]
    if few:
        lines += [
            '', 'ODinW-13 few-shot, average AP over the 13 tasks (GLIP paper; '
            'full tuning: mean ± std over 3 seeds):', '',
            '| model | tuning | 0-shot | 1-shot | 3-shot | 5-shot | 10-shot '
            '| all data |', '|---|---|---|---|---|---|---|---|']
        for e, prefix, label in few:
            zero = e.metric('ODinW-13', 'AP paper') or e.metric(
                'ODinW-13', 'AP')
            cells = []
            for shot in ('1-shot', '3-shot', '5-shot', '10-shot'):
                value = _num(e.metric('ODinW-13', f'{prefix}{shot} AP'))
                std = e.metric('ODinW-13', f'{prefix}{shot} AP std')
                cells.append(value + (f' ± {_num(std)}' if std is not None
                                      else ''))
            cells.append(_num(e.metric('ODinW-13', f'{prefix}all-data AP')))
            lines.append(f'| {e.display_name} | {label} | {_num(zero)} | ' +
                         ' | '.join(cells) + ' |')
    lines += ['', MD_END]
    return '\n'.join(lines) + '\n'


def markdown_block(text: str) -> Optional[str]:
    """The generated block inside a model_zoo.md text, markers included
    (the begin marker found by :data:`MD_BEGIN_TAG`, so that --update also
    rewrites a marker of older wording)."""
    start = text.find(MD_BEGIN_TAG)
    end = text.find(MD_END)
    if start < 0 or end < start:
        return None
    return text[start:end + len(MD_END)] + '\n'


def update_markdown(md_path: Union[str, Path],
                    index: Optional[ModelIndex] = None) -> bool:
    """Rewrite the generated block of ``md_path``; True if it changed."""
    text = Path(md_path).read_text(encoding='utf-8')
    old = markdown_block(text)
    if old is None:
        raise ValueError(f'{md_path} has no {MD_BEGIN_TAG!r} ... '
                         f'{MD_END!r} block.')
    new = zoo_markdown(index)
    if old == new:
        return False
    # utf-8 whatever the locale (the file has non-ASCII characters)
    with atomic_write(md_path, encoding='utf-8') as f:
        f.write(text.replace(old, new))
    return True


_SWIN_BY_DIMS = {96: 'Swin-T', 192: 'Swin-L'}


def config_problems(index: ModelIndex, entry: ZooEntry) -> List[str]:
    """Where ``entry``'s configs disagree with its index metadata (backbone,
    fusion, blocks, weight file named in the config's header comment, the
    fine-tune config inheriting the zero-shot one). Needs mmengine."""
    from mmengine.config import Config
    where = f'{entry.name} ({entry.config})'
    path = index.config_path(entry)
    if not path.is_file():
        return [f'{where}: config file missing']
    problems = []
    cfg = Config.fromfile(os.fspath(path))
    model = cfg.model
    dims = model.backbone.get('embed_dims')
    if entry.backbone and _SWIN_BY_DIMS.get(dims) != entry.backbone:
        problems.append(f'{where}: index says {entry.backbone}, config has '
                        f'Swin embed_dims={dims}')
    fusion = model.get('fusion_neck', {})
    if entry.deep_fusion is not None and \
            bool(fusion.get('early_fuse')) != entry.deep_fusion:
        problems.append(f'{where}: index says Deep Fusion: '
                        f'{entry.deep_fusion}, config has early_fuse='
                        f'{fusion.get("early_fuse")}')
    if entry.fusion_blocks is not None and \
            fusion.get('num_blocks') != entry.fusion_blocks:
        problems.append(f'{where}: index says {entry.fusion_blocks} fusion '
                        f'blocks, config has {fusion.get("num_blocks")}')
    named = re.findall(r'^#.*Weights:\s*(\S+?\.pth)', path.read_text(),
                       flags=re.M)
    if named and named[0] != entry.weight_file:
        problems.append(f'{where}: its header names {named[0]}, the index '
                        f'{entry.weight_file}')
    for key in ('LVIS Config', 'Flickr30k Config'):
        rel = entry.metadata.get(key)
        if rel and not (index.root / rel).is_file():
            problems.append(f'{entry.name}: {key} {rel} missing')
    if entry.finetune_config:
        ft = index.root / entry.finetune_config
        if not ft.is_file():
            problems.append(f'{entry.name}: fine-tune config '
                            f'{entry.finetune_config} missing')
        elif f"'./{path.name}'" not in ft.read_text():
            problems.append(f'{entry.name}: {entry.finetune_config} does not '
                            f'inherit {path.name}')
    return problems


def consistency_problems(index: Optional[ModelIndex] = None,
                         model_zoo_md: Optional[Union[str, Path]] = None,
                         check_configs: bool = True) -> List[str]:
    """Everything that disagrees between the index, model_zoo.md and the
    configs (empty when all agree)."""
    index = index or load_index()
    problems = index.validate()
    md = Path(model_zoo_md) if model_zoo_md else index.root / 'model_zoo.md'
    if md.is_file():
        block = markdown_block(md.read_text(encoding='utf-8'))
        if block is None:
            problems.append(f'{md}: the generated zoo block is missing')
        elif block != zoo_markdown(index):
            diff = difflib.unified_diff(
                block.splitlines(), zoo_markdown(index).splitlines(),
                f'{md.name} (now)', 'from the index', lineterm='', n=0)
            problems.append(
                f'{md} disagrees with {index.path}; run `python '
                '.dev_scripts/model_index.py --update model_zoo.md` after '
                'changing the metafiles:\n' + '\n'.join(list(diff)[:40]))
    else:
        problems.append(f'{md} not found')
    if check_configs:
        for entry in index:
            problems.extend(config_problems(index, entry))
    return problems


def _package_version() -> str:
    text = (Path(__file__).resolve().parents[1] / 'mmglip' /
            'version.py').read_text()
    m = re.search(r'__version__\s*=\s*[\'"]([^\'"]+)', text)
    return m.group(1) if m else '0'


def write_mim_overlay(dest: Union[str, Path], mirror: str,
                      index: Optional[ModelIndex] = None) -> Path:
    """Write a copy of the index whose Weights point at ``mirror`` in a form
    ``mim`` reads, and return ``dest``.

    ``mim download mmglip`` takes the Weights URLs of the *installed*
    package's ``.mim/model-index.yml`` and has no mirror setting. With
    ``PYTHONPATH=DEST`` mim finds this overlay first (``DEST/mmglip/.mim`` and
    a ``mmglip`` dist-info carrying no code; ``import mmglip`` still imports
    the installed package, whose ``__init__.py`` wins over a code-less
    folder)::

        python .dev_scripts/model_index.py --mim-overlay DIR --mirror URL
        PYTHONPATH=DIR mim download mmglip --config glip-t_c --dest .

    Prefer ``tools/download.py``, which verifies what it downloads.
    """
    index = index or load_index()
    base = mirror.rstrip('/')
    dest = Path(dest)
    mim = dest / 'mmglip' / '.mim'
    if mim.exists():
        shutil.rmtree(mim)
    configs = index.root / 'configs'
    shutil.copytree(configs, mim / 'configs',
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    models = []
    for e in index:
        raw = {'Name': e.name, 'In Collection': e.collection,
               'Config': e.config, 'Metadata': e.metadata,
               'Results': [dict(Task=r.task, Dataset=r.dataset,
                                Metrics=r.metrics) for r in e.results],
               'Weights': f'{base}/{e.weight_file}'}
        models.append({k: v for k, v in raw.items() if v is not None})
    meta = {'Collections': index.collections, 'Models': models}
    (mim / 'model-index.yml').write_text(
        f'# mmglip zoo with every file served from {base}\n' +
        yaml.safe_dump(meta, sort_keys=False))
    version = _package_version()
    info = dest / f'mmglip-{version}.dist-info'
    info.mkdir(parents=True, exist_ok=True)
    (info / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: mmglip\nVersion: {version}\n'
        f'Summary: mmglip model index served from {base} (no code)\n')
    (info / 'top_level.txt').write_text('mmglip\n')
    return dest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('--mim-overlay', metavar='DIR',
                   help='write an index for `PYTHONPATH=DIR mim download '
                   'mmglip` whose files come from --mirror')
    p.add_argument('--mirror', help='base URL for --mim-overlay (default '
                   '$MMGLIP_MIRROR)')
    p.add_argument('--index', help='model-index.yml (default: this mmglip\'s)')
    p.add_argument('--markdown', action='store_true',
                   help='print the generated model_zoo.md block')
    p.add_argument('--update', metavar='MD',
                   help='rewrite the generated block of this markdown file')
    p.add_argument('--check', action='store_true',
                   help='check that the index, model_zoo.md and the configs '
                   'agree; exit 1 if not')
    add_debug_flag(p)
    args = p.parse_args(argv)
    index = load_index(args.index)
    if args.mim_overlay:
        mirror = args.mirror or os.environ.get('MMGLIP_MIRROR')
        if not mirror:
            p.error('--mim-overlay needs --mirror URL (or MMGLIP_MIRROR)')
        out = write_mim_overlay(args.mim_overlay, mirror, index)
        print(f'PYTHONPATH={out} mim download mmglip --config NAME')
        return 0
    if args.check:
        problems = consistency_problems(index)
        print('\n'.join(problems) or f'{index.path}: {len(index)} models; '
              'model_zoo.md and the configs agree')
        return 1 if problems else 0
    if args.update:
        changed = update_markdown(args.update, index)
        print(f'{args.update}: {"updated" if changed else "up to date"}')
    elif args.markdown:
        sys.stdout.write(zoo_markdown(index))
    else:
        print(format_list(index))
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
