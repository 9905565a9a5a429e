"""The repository's scripts (``tools/...``, ``.dev_scripts/...``) as modules,
so that tests call their ``main`` in-process instead of starting a second
interpreter."""
import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_LOADED = {}


def load_tool(relative_path: str):
    """The script at ``REPO/relative_path`` (e.g. ``'tools/infer.py'``),
    imported once per test session."""
    path = REPO / relative_path
    if not path.is_file():
        raise FileNotFoundError(f'no script {path}')
    if path not in _LOADED:
        name = '_tool_' + re.sub(r'\W', '_', relative_path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED[path] = module
    return _LOADED[path]
