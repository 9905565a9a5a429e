"""Files written whole or not at all, and where mmglip's data files live.

One atomic writer for every file mmglip produces (predictions, reports,
checkpoints' weights, downloads): a reader never sees half a file, and an
interrupted write leaves the previous file, if any, untouched.
"""
import os
import os.path as osp
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Union

PathLike = Union[str, os.PathLike]


@contextmanager
def atomic_write(path: PathLike, mode: str = 'w', **open_kwargs
                 ) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit it replaces
    ``path`` (``os.replace``), on an error it is removed and ``path`` is as
    before. The parent folder is created when missing; text modes default to
    utf-8.

    Example::

        with atomic_write('out/result.json') as f:
            json.dump(result, f)
    """
    path = os.fspath(path)
    if 'b' not in mode:  # text files: utf-8 whatever the locale
        open_kwargs.setdefault('encoding', 'utf-8')
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    # the suffix keeps the extension (savefig / PIL pick the format by it)
    stem, ext = osp.splitext(path)
    # unique per process and thread: concurrent writers never share it
    tmp = f'{stem}.part{os.getpid()}-{uuid.uuid4().hex[:8]}{ext}'
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`)."""
    with atomic_write(path) as f:
        f.write(text)


def atomic_write_json(path: PathLike, data, **dump_kwargs) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    import json
    with atomic_write(path) as f:
        json.dump(data, f, **dump_kwargs)


def package_data_path(*parts: str) -> Path:
    """A file or folder shipped with mmglip (``configs/...``,
    ``model-index.yml``): in the source tree beside the package (a checkout
    or an editable install), else packaged in ``mmglip/.mim`` (a wheel).
    The first that exists is returned; when neither does, the source-tree
    path (for a message that names it)."""
    pkg = Path(__file__).resolve().parents[1]
    candidates = [pkg.parent.joinpath(*parts), pkg.joinpath('.mim', *parts)]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[0]
