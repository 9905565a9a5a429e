"""The package's layering, checked from the code's own imports (every
``import`` / ``from ... import`` in mmglip/, at module level or inside a
function): a package imports only packages of lower layers, and no modules
import each other in a circle.

The layers, bottom to top (docs/architecture.md draws them):

0. ``errors``, ``version``, ``odinw_tasks``: the user-error type and pure
   facts; import nothing of mmglip.
1. ``registry``: mmglip's registries (children of mmdet's).
2. ``utils``: files, images, checkpoint files, config checks, the
   command-line kit.
3. ``text`` (prompts), ``visualization`` (drawing), ``zoo`` (which models
   exist, fetching and verifying their files' bytes).
4. ``weights``: the official checkpoint layout <-> mmglip's and the one
   path that loads weights into a model (conversion at the door: models
   take mmglip-layout weights only).
5. ``models``.
6. ``datasets`` (and the ODinW download that feeds them).
7. ``evaluation``.
8. the package's entry (``mmglip/__init__.py``: ``register_all_modules``
   imports every part below).
9. ``deploy``: ONNX export and the ONNX Runtime model.
10. ``apis``: init_model / inference, with the PyTorch or ONNX Runtime
    backend.
11. ``benchmark``: the few-shot benchmark and the backends' speed table,
    built on the APIs.
"""
import ast
from pathlib import Path

from ..conftest import REPO

LAYERS = [
    ('mmglip.errors', 'mmglip.version', 'mmglip.odinw_tasks'),
    ('mmglip.registry', ),
    ('mmglip.utils', ),
    ('mmglip.text', 'mmglip.visualization', 'mmglip.zoo'),
    ('mmglip.weights', ),
    ('mmglip.models', ),
    ('mmglip.datasets', ),
    ('mmglip.evaluation', ),
    ('mmglip', ),
    ('mmglip.deploy', ),
    ('mmglip.apis', ),
    ('mmglip.benchmark', ),
]


def _part(module):
    """(layer, part) of a dotted module name: the longest part it is in."""
    best = None
    for layer, parts in enumerate(LAYERS):
        for part in parts:
            if module == part or module.startswith(part + '.'):
                if best is None or len(part) > len(best[1]):
                    best = (layer, part)
    return best


def _imports():
    """(importer, imported, file:line) for every import of an mmglip module
    inside mmglip/."""
    root = REPO / 'mmglip'
    for path in sorted(root.rglob('*.py')):
        names = list(path.relative_to(REPO).with_suffix('').parts)
        is_init = names[-1] == '__init__'
        if is_init:
            names = names[:-1]
        module = '.'.join(names)
        package = names if is_init else names[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - node.level + 1]
                    targets = ['.'.join(base + [node.module]
                                        if node.module else base)]
                    if node.module is None:  # from . import a, b
                        targets = [f'{targets[0]}.{a.name}'
                                   for a in node.names]
                else:
                    targets = [node.module]
            else:
                continue
            for target in targets:
                if target == 'mmglip' or target.startswith('mmglip.'):
                    yield module, target, f'{path.relative_to(REPO)}:' \
                        f'{node.lineno}'


def test_every_module_has_a_layer():
    unplaced = sorted({m for m, _, _ in _imports() if _part(m) is None})
    assert not unplaced, unplaced


def test_no_import_runs_up_or_sideways():
    wrong = []
    for importer, imported, where in _imports():
        (low, part), (high, other) = _part(importer), _part(imported)
        if part == other:
            continue
        if high >= low:
            wrong.append(f'{where}: {importer} (layer {low}) imports '
                         f'{imported} (layer {high})')
    assert not wrong, '\n'.join(wrong)


def test_no_modules_import_each_other_in_a_circle():
    modules = {p for p in _module_names()}
    graph = {}
    for importer, imported, _ in _imports():
        # "from pkg import name" may name a module of pkg
        target = imported if imported in modules else None
        if target is None:
            parent = imported.rsplit('.', 1)[0]
            target = parent if parent in modules else None
        if target and target != importer and not importer.startswith(
                target + '.') and not _is_package(target):
            graph.setdefault(importer, set()).add(target)
    cycles = _cycles(graph)
    assert not cycles, cycles


def _module_names():
    for path in (REPO / 'mmglip').rglob('*.py'):
        names = list(path.relative_to(REPO).with_suffix('').parts)
        if names[-1] == '__init__':
            names = names[:-1]
        yield '.'.join(names)


def _is_package(module):
    return (REPO / Path(*module.split('.')) / '__init__.py').exists()


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out
