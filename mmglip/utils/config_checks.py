"""``--cfg-options`` and MMEngine configs checked before anything is built:
keys the config does not have, loop / dataloader / dataset / metric options
that their classes would not take, evaluation parts that do not go together,
and the data's prompt tokenizer kept in step with the model's.

mmengine adds a missing key silently and a wrong constructor option fails
late with a TypeError traceback; these checks say one line
(:class:`mmglip.errors.UserError` or a warning) naming the key and the
closest valid one. Used by tools/train.py, tools/test.py and the few-shot
benchmark through :func:`merge_cfg_options`.
"""
import sys
from typing import Dict, List, Optional

from mmglip.errors import UserError, did_you_mean, warn


def unknown_cfg_keys(cfg, options: Optional[Dict]) -> List[str]:
    """Messages for ``--cfg-options`` keys that the config does not have.

    mmengine's ``merge_from_dict`` adds a missing key silently, so a typo
    (``model.test_cfg.max_per_imgg=1``) changes nothing. Each message names
    the key and the closest existing key at that level. Keys under a
    ``list`` (``a.0.b``) and new keys of a dict that does not exist yet
    below an existing one are checked up to the first missing part. A key
    right under a ``*_dataloader`` is fine when torch's DataLoader takes it
    (mmengine passes it on); a key of a dataloader's dataset (or of a
    dataset inside a wrapper) when the dataset's class takes it
    (:func:`constructor_options`).
    """
    out = []
    for key in (options or {}):
        node, walked = cfg, []
        for part in key.split('.'):
            if isinstance(node, (list, tuple)):
                if part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                    walked.append(part)
                    continue
                out.append(f'--cfg-options {key}: {".".join(walked)} is a '
                           f'list of {len(node)}; {part!r} is not an index '
                           'of it')
                break
            if not hasattr(node, 'keys'):
                break  # a value replaced by a dict: mmengine's business
            if part not in node and len(walked) == 1 and \
                    walked[0].endswith('_dataloader'):
                options = dataloader_options()
                if part not in options:  # valid ones are passed on: fine
                    out.append(f'--cfg-options {key}: {walked[0]} has no key '
                               f'{part!r}{did_you_mean(part, options)}; '
                               'torch\'s DataLoader does not take it')
                break
            if part not in node and _is_evaluator_path(walked):
                cls = _metric_class(node.get('type'))
                options = None if cls is None else constructor_options(cls)
                if options is not None:
                    # a metric option: used; another key is an error after
                    # the merge (check_evaluator_cfgs)
                    break
            if part not in node and _is_dataset_path(walked):
                cls = _node_class(node)
                options = None if cls is None else constructor_options(cls)
                if options is not None:
                    if part not in options:  # valid ones are used: fine
                        out.append(
                            f'--cfg-options {key}: {".".join(walked)} '
                            f'({cls.__name__}) has no option {part!r}'
                            f'{did_you_mean(part, options)}; the dataset '
                            'would not build')
                    break
            if part not in node:
                where = '.'.join(walked) or 'the config'
                hint = did_you_mean(part, [str(k) for k in node.keys()])
                out.append(f'--cfg-options {key}: {where} has no key '
                           f'{part!r}{hint}; mmengine would add it and '
                           'nothing would use it')
                break
            node = node[part]
            walked.append(part)
    return out


def warn_unknown_cfg_keys(cfg, options: Optional[Dict]) -> List[str]:
    """Print a warning per unknown ``--cfg-options`` key; returns them."""
    problems = unknown_cfg_keys(cfg, options)
    for msg in problems:
        print(f'warning: {msg}', file=sys.stderr)
    return problems


def check_loop_cfgs(cfg) -> None:
    """``train_cfg`` / ``val_cfg`` / ``test_cfg`` keys against the loop
    classes they build (mmengine's loops take fixed keyword arguments, and a
    typo such as ``train_cfg.max_epoch`` fails deep in the runner with a
    TypeError). Raises a UserError naming the key and the closest one."""
    import inspect

    from mmengine.registry import LOOPS
    defaults = dict(train_cfg='EpochBasedTrainLoop', val_cfg='ValLoop',
                    test_cfg='TestLoop')
    by = dict(train_cfg='by_epoch', val_cfg=None, test_cfg=None)
    for key, default in defaults.items():
        loop = cfg.get(key)
        if not loop or not hasattr(loop, 'keys'):
            continue
        loop = dict(loop)
        typ = loop.pop('type', None)
        if typ is None and key == 'train_cfg':
            typ = ('EpochBasedTrainLoop' if loop.pop(by[key], True) else
                   'IterBasedTrainLoop')
        typ = typ or default
        if not isinstance(typ, str):
            continue
        cls = LOOPS.get(typ)
        if cls is None:
            continue
        params = inspect.signature(cls.__init__).parameters
        if any(p.kind == p.VAR_KEYWORD for p in params.values()):
            continue
        allowed = set(params) - {'self', 'runner', 'dataloader', 'evaluator'}
        for name in loop:
            if name not in allowed:
                raise UserError(
                    f'{key}.{name}: {typ} has no option {name!r}'
                    f'{did_you_mean(name, allowed)}; its options: '
                    f'{", ".join(sorted(allowed))}.')


# keys mmengine's Runner.build_dataloader takes out of a dataloader config
# before it passes the rest to torch's DataLoader as keyword arguments
_RUNNER_DATALOADER_KEYS = ('dataset', 'sampler', 'batch_sampler',
                           'collate_fn', 'worker_init_fn',
                           'num_batch_per_epoch',
                           'disable_subprocess_warning')


def dataloader_options() -> set:
    """The keys a ``*_dataloader`` config may have: mmengine's runner's own
    and torch DataLoader's keyword arguments."""
    import inspect

    from torch.utils.data import DataLoader
    params = inspect.signature(DataLoader.__init__).parameters
    return (set(params) - {'self'}) | set(_RUNNER_DATALOADER_KEYS)


def check_dataloader_cfgs(cfg) -> None:
    """``train_dataloader`` / ``val_dataloader`` / ``test_dataloader`` keys
    against what mmengine's runner and torch's ``DataLoader`` take: every
    other key becomes a DataLoader keyword argument, so a typo such as
    ``train_dataloader.batch_sise`` would fail in the runner with a
    TypeError traceback. Raises a UserError naming the key and the closest
    one."""
    allowed = dataloader_options()
    for part in ('train', 'val', 'test'):
        loader = cfg.get(f'{part}_dataloader')
        if not loader or not hasattr(loader, 'keys'):
            continue
        for name in loader:
            if name not in allowed:
                raise UserError(
                    f'{part}_dataloader.{name}: torch\'s DataLoader (built '
                    f'by mmengine\'s runner) has no option {name!r}'
                    f'{did_you_mean(name, allowed)}; its options: '
                    f'{", ".join(sorted(allowed))}.')


def constructor_options(cls) -> Optional[set]:
    """The keyword arguments ``cls(...)`` takes: the named parameters of
    each ``__init__`` along its MRO, as far as each passes ``**kwargs`` on
    to the next (``object`` takes none); None when a class hands
    ``**kwargs`` to something that cannot be read (no signature)."""
    import inspect
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is object:
            return names
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            return None
        names |= {
            n for n, p in params.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        } - {'self'}
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return names
    return names


# keys mmengine's build_from_cfg takes out of a config before it calls the
# class
_BUILD_KEYS = {'type', '_scope_'}


def check_dataset_cfgs(cfg) -> None:
    """The ``dataset`` of each ``*_dataloader`` against its class's
    constructor (and its bases', see :func:`constructor_options`), and the
    datasets inside wrappers (``dataset`` of RepeatDataset /
    ClassBalancedDataset, each of ``datasets`` of a ConcatDataset): every
    key of a dataset config becomes a keyword argument, so a typo such as
    ``test_dataloader.dataset.ann_fle`` would fail in the runner with a
    TypeError traceback. Raises a UserError naming the key, the class and
    the closest option. A type the registries do not know is left to the
    builder (it names it)."""
    def visit(node, where):
        if not hasattr(node, 'keys') or 'type' not in node:
            return
        cls = _node_class(node)
        options = None if cls is None else constructor_options(cls)
        if options is not None:
            allowed = options | _BUILD_KEYS
            for name in node:
                if name not in allowed:
                    raise UserError(
                        f'{where}.{name}: {cls.__name__} has no option '
                        f'{name!r}{did_you_mean(name, options)}; the '
                        'dataset would not build. Its options: '
                        f'{", ".join(sorted(options))}.')
        inner = node.get('dataset')
        if hasattr(inner, 'keys'):
            visit(inner, f'{where}.dataset')
        inner = node.get('datasets')
        if isinstance(inner, (list, tuple)):
            for i, part in enumerate(inner):
                visit(part, f'{where}.datasets.{i}')

    for part in ('train', 'val', 'test'):
        loader = cfg.get(f'{part}_dataloader')
        if loader and hasattr(loader, 'keys'):
            visit(loader.get('dataset'), f'{part}_dataloader.dataset')


def check_evaluator_cfgs(cfg) -> None:
    """Each metric of ``val_evaluator`` / ``test_evaluator`` (a dict, or a
    list of them) against its class's constructor, as
    :func:`check_dataset_cfgs` does for datasets: a key such as
    ``test_evaluator.ann_fle`` would fail when the runner builds the
    metric, after the model was built. Raises a UserError naming the key,
    the metric and the closest option."""
    for part in ('val', 'test'):
        evaluator = cfg.get(f'{part}_evaluator')
        metrics = evaluator if isinstance(evaluator, (list, tuple)) else \
            [evaluator]
        for i, metric in enumerate(metrics):
            if not hasattr(metric, 'keys') or 'type' not in metric:
                continue
            where = f'{part}_evaluator' + (
                f'.{i}' if isinstance(evaluator, (list, tuple)) else '')
            cls = _metric_class(metric['type'])
            options = None if cls is None else constructor_options(cls)
            if options is None:
                continue
            for name in metric:
                if name not in options | _BUILD_KEYS:
                    raise UserError(
                        f'{where}.{name}: {cls.__name__} has no option '
                        f'{name!r}{did_you_mean(name, options)}; the metric '
                        'would not build. Its options: '
                        f'{", ".join(sorted(options))}.')


def _is_evaluator_path(walked: List[str]) -> bool:
    """``walked`` leads to a metric config: ``*_evaluator`` or
    ``*_evaluator.N``."""
    return bool(walked) and walked[0].endswith('_evaluator') and (
        len(walked) == 1 or len(walked) == 2 and walked[1].isdigit())


def _metric_class(typ):
    """The metric class ``typ`` names in mmglip's METRICS registry (mmdet's
    as parent), or None."""
    return _registered_class('METRICS', typ)


def _is_dataset_path(walked: List[str]) -> bool:
    """``walked`` leads to a dataloader's dataset config, or to one inside
    a wrapper (``.dataset`` / ``.datasets.N``)."""
    return bool(walked) and walked[0].endswith('_dataloader') and (
        walked[-1] == 'dataset' and len(walked) > 1
        or len(walked) > 2 and walked[-2] == 'datasets')


def _node_class(node):
    """The dataset class a config dict's ``type`` names, or None."""
    typ = node.get('type') if hasattr(node, 'get') else None
    return typ if isinstance(typ, type) else _dataset_class(typ)


def _dataset_class(typ):
    """The class registered as ``typ`` (``'ODinWDataset'``,
    ``'mmdet.CocoDataset'``) in mmglip's DATASETS registry (mmdet's and
    mmengine's as parents), or None."""
    return _registered_class('DATASETS', typ)


def _registered_class(registry: str, typ):
    """``typ`` itself when it is a class; else the class registered under
    that name in ``mmglip.registry.<registry>``, or None (an unknown name or
    scope is left to the builder, which names it)."""
    if isinstance(typ, type):
        return typ
    if not isinstance(typ, str):
        return None
    import mmglip.registry
    try:
        return getattr(mmglip.registry, registry).get(typ)
    except Exception:  # noqa: BLE001 (an unknown scope: the builder's say)
        return None


def merge_cfg_options(cfg, options: Optional[Dict]) -> None:
    """Merge ``--cfg-options`` into ``cfg`` as tools/train.py and
    tools/test.py do: keys the config does not have are found before the
    merge (:func:`unknown_cfg_keys`), the loop, dataloader and dataset
    options are checked after it (a UserError, one line), and only then
    are the unknown keys warned about - a run that cannot start says one
    line."""
    unknown = []
    if options is not None:
        unknown = unknown_cfg_keys(cfg, options)
        cfg.merge_from_dict(options)
    check_loop_cfgs(cfg)
    check_dataloader_cfgs(cfg)
    check_dataset_cfgs(cfg)
    check_evaluator_cfgs(cfg)
    for msg in unknown:
        warn(msg)


def check_eval_parts(cfg) -> List[str]:
    """``val_*`` / ``test_*``: mmengine needs the loop, the dataloader and
    the evaluator all given or all None, and says so with a traceback. A
    config without a ``val_dataloader`` (``val_dataloader = None``: no
    validation data) keeps the loop it inherited from default_runtime.py;
    that loop is switched off here (its part, ``'val'`` / ``'test'``, is
    returned, for a note). A dataloader
    without an evaluator (or the reverse) is a UserError naming the keys."""
    off = []
    for part in ('val', 'test'):
        loop, loader, evaluator = (cfg.get(f'{part}_{k}') for k in
                                   ('cfg', 'dataloader', 'evaluator'))
        if not loader and not evaluator:
            if loop:
                cfg[f'{part}_cfg'] = None
                off.append(part)
            continue
        if not loader or not evaluator:
            given, missing = (('dataloader', 'evaluator') if loader else
                              ('evaluator', 'dataloader'))
            raise UserError(
                f'{part}_{given} is set but {part}_{missing} is not: give '
                f'both (and {part}_cfg), or set {part}_{given} = None.')
    return off


#: data steps that count prompt tokens with the language model's tokenizer
TOKENIZER_USERS = ('GroundingDataset', 'DetectionToGrounding')


def sync_prompt_tokenizers(cfg) -> int:
    """Make every data step that counts prompt tokens (``tokenizer`` of
    :data:`TOKENIZER_USERS` in the dataloaders' datasets and pipelines) use
    ``model.language_model.name``; returns how many were changed.

    Token counts decide which boxes and negatives fit the model's 256
    tokens, so they must be the model's; a config names the tokenizer in
    its data part too (an mmengine base cannot read a sibling base's
    variable), and ``--cfg-options model.language_model.name=DIR`` would
    otherwise leave the data on the old name.
    """
    name = (cfg.get('model') or {}).get('language_model', {}).get('name')
    if not name:
        return 0
    changed = 0

    def visit(node):
        nonlocal changed
        if isinstance(node, dict):
            typ = str(node.get('type', '')).split('.')[-1]
            if typ in TOKENIZER_USERS and 'tokenizer' in node and \
                    node['tokenizer'] != name:
                node['tokenizer'] = name
                changed += 1
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        visit(cfg.get(key))
    return changed
