"""mmglip's model index: ``model-index.yml`` and the metafiles it imports.

The index is the single source of truth for the model zoo: the zoo names
that ``tools/infer.py`` / ``tools/test.py`` accept
(:data:`mmglip.apis.MODEL_NAMES`), the downloads (:mod:`mmglip.zoo.hub`:
``Hub Repo`` / ``Hub Revision`` of the collection, ``Weight File``,
``SHA256``, ``File Size``, ``Deep Fusion`` / ``Fusion Blocks`` of each model),
``mim download mmglip`` (``Weights``, the same file's hub URL) and the tables
of ``model_zoo.md`` (generated here; a test compares them).

It is OpenMMLab's model-index format (``Import`` / ``Collections`` /
``Models`` with ``Name``, ``In Collection``, ``Config``, ``Metadata``,
``Results``, ``Weights``), read with plain YAML: mmglip's own keys live under
``Metadata`` (see ``configs/glip/metafile.yml``) and in ``Results`` entries
(``Setting``, ``Source``), which OpenMMLab's readers ignore.

Where it is found: ``model-index.yml`` beside the package (a source checkout
or editable install), else ``mmglip/.mim/model-index.yml`` (a wheel / regular
install, copied there by ``setup.py``). Only the standard library and PyYAML
are used, so reading the index imports neither torch nor mmdet.

    python -m mmglip.zoo.index                 # list the zoo
    python -m mmglip.zoo.index --markdown      # model_zoo.md's generated part
    python -m mmglip.zoo.index --update model_zoo.md
"""
import argparse
import difflib
import glob
import os
import os.path as osp
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

import urllib.parse

import yaml
from mmglip.utils.cli import UserError

INDEX_FILE = 'model-index.yml'
#: markers around the generated part of model_zoo.md
MD_BEGIN = ('<!-- BEGIN zoo-index: generated from model-index.yml by '
            '`python -m mmglip.zoo.index --update model_zoo.md`; '
            'edit the metafiles, not this block -->')
MD_END = '<!-- END zoo-index -->'
_SHA256 = re.compile(r'^[0-9a-f]{64}$')
_NAME = re.compile(r'^[a-z0-9][a-z0-9_.-]*$')


class ModelIndexError(UserError, ValueError):
    """A malformed model index (the message names the file and entry)."""


class UnknownModelError(UserError, KeyError):
    """A name that is not in the zoo; the message lists the zoo."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ''


@dataclass
class Result:
    """One published (or measured) result of a zoo entry."""
    task: str
    dataset: str
    metrics: Dict[str, float]
    setting: Optional[str] = None
    source: Optional[str] = None

    @property
    def measured_by_mmglip(self) -> bool:
        return bool(self.source) and self.source.lower().startswith('mmglip')


@dataclass
class ZooEntry:
    """A released model: its config, weights and numbers."""
    name: str
    config: str  # relative to the index root, e.g. configs/glip/x.py
    weights: str  # download URL (mim's)
    weight_file: str  # the file in the hub repository
    collection: Optional[str] = None
    variant: Optional[str] = None
    file_size: Optional[int] = None
    sha256: Optional[str] = None
    weight_layout: str = 'official'
    pretraining_data: Optional[str] = None
    training_data: List[str] = field(default_factory=list)
    backbone: Optional[str] = None
    deep_fusion: Optional[bool] = None
    fusion_blocks: Optional[int] = None
    finetune_config: Optional[str] = None
    official_config: Optional[str] = None
    lvisbest_file: Optional[str] = None
    results: List[Result] = field(default_factory=list)
    metadata: Dict = field(default_factory=dict)
    source_file: Optional[str] = None
    hub_repo: Optional[str] = None  # e.g. GLIPModel/GLIP
    hub_revision: Optional[str] = None  # branch, tag or commit

    @property
    def hub_url(self) -> Optional[str]:
        """``https://huggingface.co/<repo>/resolve/<revision>/<file>``."""
        if not (self.hub_repo and self.hub_revision):
            return None
        return (f'https://huggingface.co/{self.hub_repo}/resolve/'
                f'{urllib.parse.quote(self.hub_revision, safe="")}/'
                f'{urllib.parse.quote(self.weight_file)}')

    @property
    def display_name(self) -> str:
        return self.variant or self.name

    def metric(self, dataset: str, name: str,
               source_prefix: Optional[str] = None) -> Optional[float]:
        """The value of metric ``name`` on ``dataset`` (first match)."""
        for res in self.results:
            if res.dataset != dataset or name not in res.metrics:
                continue
            if source_prefix and not (res.source or '').startswith(
                    source_prefix):
                continue
            return res.metrics[name]
        return None

    def describe(self) -> str:
        return f'{self.name} ({self.display_name})'


class ModelIndex:
    """The parsed index: ordered zoo entries and collections."""

    def __init__(self, entries: List[ZooEntry], collections: List[Dict],
                 root: Path, path: Path):
        self.entries: Dict[str, ZooEntry] = {}
        hub = {c.get('Name'): c.get('Metadata') or {} for c in collections}
        #: the hub repository / revision of the (first) collection naming one
        self.hub_repo = next((_first(m, 'Hub Repo') for m in hub.values()
                              if _first(m, 'Hub Repo')), None)
        self.hub_revision = next((_first(m, 'Hub Revision')
                                  for m in hub.values()
                                  if _first(m, 'Hub Revision')), None)
        for entry in entries:
            meta = hub.get(entry.collection, {})
            entry.hub_repo = entry.hub_repo or _first(meta, 'Hub Repo')
            entry.hub_revision = entry.hub_revision or _first(
                meta, 'Hub Revision')
            if entry.name in self.entries:
                raise ModelIndexError(
                    f'{entry.source_file}: model name {entry.name!r} is '
                    f'defined twice (also in '
                    f'{self.entries[entry.name].source_file}).')
            self.entries[entry.name] = entry
        self.collections = collections
        self.root = Path(root)
        self.path = Path(path)

    def __iter__(self) -> Iterator[ZooEntry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name) -> bool:
        return name in self.entries

    @property
    def names(self) -> List[str]:
        return list(self.entries)

    def get(self, name: str) -> ZooEntry:
        """The entry called ``name``; an error listing the zoo otherwise."""
        if name in self.entries:
            return self.entries[name]
        close = difflib.get_close_matches(name, self.names, n=2)
        hint = f' Did you mean {" or ".join(close)}?' if close else ''
        raise UnknownModelError(
            f'{name!r} is not a model of the mmglip zoo ({self.path}).{hint} '
            f'Known: {", ".join(self.names)}.')

    def by_weight_file(self, filename: str) -> Optional[ZooEntry]:
        for entry in self:
            if entry.weight_file == filename:
                return entry
        return None

    def config_path(self, entry: Union[str, ZooEntry],
                    finetune: bool = False) -> Path:
        entry = self.get(entry) if isinstance(entry, str) else entry
        rel = entry.finetune_config if finetune else entry.config
        if rel is None:
            raise ModelIndexError(f'{entry.name} has no fine-tune config.')
        return self.root / rel

    def validate(self, check_files: bool = True) -> List[str]:
        """Problems found (empty when the index is consistent)."""
        problems = []
        for e in self:
            where = f'{e.source_file}: {e.name}'
            if not _NAME.match(e.name):
                problems.append(f'{where}: name must be lower-case '
                                '[a-z0-9_.-]')
            if osp.basename(e.weights.split('?')[0]) != e.weight_file:
                problems.append(
                    f'{where}: Weight File {e.weight_file!r} is not the file '
                    f'of its Weights URL {e.weights!r}')
            if not (e.hub_repo and e.hub_revision):
                problems.append(f'{where}: needs Hub Repo and Hub Revision '
                                '(in its Metadata or its collection\'s)')
            elif e.weights != e.hub_url:
                problems.append(
                    f'{where}: Weights {e.weights} is not {e.hub_url}, the '
                    'file that Hub Repo / Hub Revision / Weight File name '
                    '(mim downloads Weights, mmglip the hub file)')
            if e.sha256 is not None and not _SHA256.match(e.sha256):
                problems.append(f'{where}: SHA256 must be 64 lower-case hex '
                                f'digits or null, got {e.sha256!r}')
            if e.file_size is not None and (
                    not isinstance(e.file_size, int) or e.file_size <= 0):
                problems.append(f'{where}: File Size must be a positive '
                                f'number of bytes or null')
            if e.weight_layout not in ('official', 'mmglip'):
                problems.append(f'{where}: Weight Layout must be official or '
                                f'mmglip, got {e.weight_layout!r}')
            if check_files:
                for rel in (e.config, e.finetune_config):
                    if rel and not (self.root / rel).is_file():
                        problems.append(f'{where}: config {rel} not found '
                                        f'under {self.root}')
        return problems


def _first(meta: Dict, *keys, default=None):
    lower = {str(k).lower(): v for k, v in meta.items()}
    for key in keys:
        if key.lower() in lower:
            return lower[key.lower()]
    return default


def _load_yaml(path: Path) -> Dict:
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise ModelIndexError(f'{path} does not hold a YAML mapping.')
    return data


def _parse_model(raw: Dict, source: Path) -> ZooEntry:
    if not isinstance(raw, dict):
        raise ModelIndexError(f'{source}: a Models item is not a mapping.')
    name = _first(raw, 'Name')
    if not name:
        raise ModelIndexError(f'{source}: a model has no Name.')
    meta = _first(raw, 'Metadata', default={}) or {}
    config = _first(raw, 'Config')
    weights = _first(raw, 'Weights')
    if not config or not weights:
        raise ModelIndexError(f'{source}: model {name!r} needs Config and '
                          'Weights.')
    if isinstance(weights, list):
        if len(weights) != 1:
            raise ModelIndexError(f'{source}: model {name!r}: one Weights URL '
                              'expected.')
        weights = weights[0]
    results = []
    for res in _first(raw, 'Results', default=[]) or []:
        metrics = _first(res, 'Metrics', default={}) or {}
        if isinstance(metrics, list):  # [{Name, Value}] form
            metrics = {m['Name']: m['Value'] for m in metrics}
        results.append(
            Result(task=_first(res, 'Task'), dataset=_first(res, 'Dataset'),
                   metrics=dict(metrics), setting=_first(res, 'Setting'),
                   source=_first(res, 'Source')))
    training = _first(meta, 'Training Data', default=[]) or []
    sha = _first(meta, 'SHA256', 'SHA-256')
    size = _first(meta, 'File Size')
    return ZooEntry(
        name=str(name),
        config=str(config),
        weights=str(weights),
        weight_file=str(_first(meta, 'Weight File',
                               default=osp.basename(str(weights)))),
        collection=_first(raw, 'In Collection'),
        variant=_first(meta, 'Variant'),
        file_size=size,
        sha256=sha.lower() if isinstance(sha, str) else sha,
        weight_layout=_first(meta, 'Weight Layout', default='official'),
        pretraining_data=_first(meta, 'Pretraining Data'),
        training_data=list(training) if isinstance(training, list) else
        [training],
        backbone=_first(meta, 'Backbone'),
        deep_fusion=_first(meta, 'Deep Fusion'),
        fusion_blocks=_first(meta, 'Fusion Blocks'),
        finetune_config=_first(meta, 'Fine-tune Config'),
        official_config=_first(meta, 'Official Config'),
        lvisbest_file=_first(meta, 'LVIS-best Weight File'),
        hub_repo=_first(meta, 'Hub Repo'),
        hub_revision=_first(meta, 'Hub Revision'),
        results=results,
        metadata=dict(meta),
        source_file=os.fspath(source))


def _collect(path: Path, entries: List[ZooEntry], collections: List[Dict],
             seen: set) -> None:
    path = path.resolve()
    if path in seen:
        raise ModelIndexError(f'{path} is imported twice (an Import cycle?).')
    seen.add(path)
    data = _load_yaml(path)
    for imp in _first(data, 'Import', default=[]) or []:
        matches = sorted(glob.glob(osp.join(path.parent, imp)))
        if not matches:
            raise ModelIndexError(f'{path}: Import {imp!r} matches no file.')
        for match in matches:
            _collect(Path(match), entries, collections, seen)
    collections.extend(_first(data, 'Collections', default=[]) or [])
    models = _first(data, 'Models', default=[]) or []
    if isinstance(models, str):  # Models: <file>
        for match in sorted(glob.glob(osp.join(path.parent, models))):
            sub = _load_yaml(Path(match))
            entries.extend(
                _parse_model(m, Path(match))
                for m in (_first(sub, 'Models', default=[]) or []))
    else:
        entries.extend(_parse_model(m, path) for m in models)


def index_candidates() -> List[Path]:
    """Where :func:`find_index` looks, in order."""
    pkg = Path(__file__).resolve().parents[1]
    return [pkg.parent / INDEX_FILE, pkg / '.mim' / INDEX_FILE]


def find_index() -> Path:
    """``model-index.yml`` of this mmglip: the source tree's, else the one
    packaged in ``mmglip/.mim``."""
    env = os.environ.get('MMGLIP_MODEL_INDEX')
    if env:
        if not osp.isfile(env):
            raise FileNotFoundError(
                f'MMGLIP_MODEL_INDEX={env} is not a file.')
        return Path(env)
    for candidate in index_candidates():
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        'mmglip\'s model-index.yml was not found (looked at ' +
        ', '.join(map(str, index_candidates())) + '); reinstall mmglip.')


_CACHE: Dict[str, ModelIndex] = {}


def load_index(path: Optional[Union[str, Path]] = None,
               cached: bool = True) -> ModelIndex:
    """Parse the model index (``path`` or :func:`find_index`)."""
    path = Path(path) if path else find_index()
    key = os.fspath(path.resolve())
    if cached and key in _CACHE:
        return _CACHE[key]
    entries, collections = [], []
    _collect(path, entries, collections, set())
    index = ModelIndex(entries, collections, path.resolve().parent, path)
    if cached:
        _CACHE[key] = index
    return index


def get_entry(name: str) -> ZooEntry:
    """The zoo entry called ``name`` (:class:`UnknownModelError` if none)."""
    return load_index().get(name)


def model_names() -> Dict[str, str]:
    """``{zoo name: config path relative to configs/}`` in index order."""
    out = {}
    for entry in load_index():
        rel = entry.config
        out[entry.name] = rel[len('configs/'):] if rel.startswith(
            'configs/') else rel
    return out


# ---------------------------------------------------------------------------
# model_zoo.md tables


def _num(value) -> str:
    if value is None:
        return '-'
    return f'{value:.1f}' if isinstance(value, float) else str(value)


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
    """The generated block inside a model_zoo.md text, markers included."""
    start = text.find(MD_BEGIN)
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
        raise ValueError(f'{md_path} has no {MD_BEGIN!r} ... {MD_END!r} '
                         'block.')
    new = zoo_markdown(index)
    if old == new:
        return False
    text = text.replace(old, new)
    tmp = f'{md_path}.tmp{os.getpid()}'
    Path(tmp).write_text(text, encoding='utf-8')
    os.replace(tmp, md_path)
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
                f'{md} disagrees with {index.path}; run `python -m '
                'mmglip.zoo.index --update model_zoo.md` after changing the '
                'metafiles:\n' + '\n'.join(list(diff)[:40]))
    else:
        problems.append(f'{md} not found')
    if check_configs:
        for entry in index:
            problems.extend(config_problems(index, entry))
    return problems


def format_list(index: Optional[ModelIndex] = None) -> str:
    """A plain-text table of the zoo (``tools/download.py --list``)."""
    index = index or load_index()
    rows = [('name', 'model', 'pretraining data', 'COCO 0-shot', 'file',
             'size')]
    for e in index:
        rows.append((e.name, e.display_name, e.pretraining_data or '-',
                     _num(e.metric('COCO', 'box AP')), e.weight_file,
                     'unknown' if e.file_size is None else
                     f'{e.file_size / 1e9:.2f} GB'))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                     for r in rows)


def _package_version() -> str:
    text = (Path(__file__).resolve().parents[1] / 'version.py').read_text()
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

        python -m mmglip.zoo.index --mim-overlay DIR --mirror URL
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
    p = argparse.ArgumentParser(description='Show mmglip\'s model index.')
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
    sys.exit(main())
