"""mmglip's model index: ``model-index.yml`` and the metafiles it imports.

The index is the single source of truth for the model zoo: the zoo names
that ``tools/infer.py`` / ``tools/test.py`` accept
(:data:`mmglip.apis.MODEL_NAMES`), the downloads (:mod:`mmglip.zoo.hub`:
``Hub Repo`` / ``Hub Revision`` of the collection, ``Weight File``,
``SHA256``, ``File Size``, ``Deep Fusion`` / ``Fusion Blocks`` of each model),
``mim download mmglip`` (``Weights``, the same file's hub URL) and the tables
of ``model_zoo.md`` (generated from it by ``.dev_scripts/model_index.py``,
which also checks that the index, model_zoo.md and the configs agree).

It is OpenMMLab's model-index format (``Import`` / ``Collections`` /
``Models`` with ``Name``, ``In Collection``, ``Config``, ``Metadata``,
``Results``, ``Weights``), read with plain YAML: mmglip's own keys live under
``Metadata`` (see ``configs/glip/metafile.yml``) and in ``Results`` entries
(``Setting``, ``Source``), which OpenMMLab's readers ignore.

Where it is found: ``model-index.yml`` beside the package (a source checkout
or editable install), else ``mmglip/.mim/model-index.yml`` (a wheel / regular
install, copied there by ``setup.py``). Only the standard library and PyYAML
are used, so reading the index imports neither torch nor mmdet.
"""
import difflib
import glob
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

import urllib.parse

import yaml
from mmglip.errors import UserError
from mmglip.utils.io import package_data_path

INDEX_FILE = 'model-index.yml'
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
            raise ModelIndexError(f'{source}: model {name!r}: one Weights '
                                  'URL expected.')
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


def find_index() -> Path:
    """``model-index.yml`` of this mmglip: ``$MMGLIP_MODEL_INDEX`` if set,
    else the source tree's, else the one packaged in ``mmglip/.mim``
    (:func:`~mmglip.utils.io.package_data_path`)."""
    env = os.environ.get('MMGLIP_MODEL_INDEX')
    if env:
        if not osp.isfile(env):
            raise FileNotFoundError(
                f'MMGLIP_MODEL_INDEX={env} is not a file.')
        return Path(env)
    path = package_data_path(INDEX_FILE)
    if path.is_file():
        return path
    raise FileNotFoundError(
        f'mmglip\'s {INDEX_FILE} was not found: {path} is not a file and '
        f'mmglip/.mim holds no {INDEX_FILE}; reinstall mmglip.')


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


def _num(value) -> str:
    if value is None:
        return '-'
    return f'{value:.1f}' if isinstance(value, float) else str(value)


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
