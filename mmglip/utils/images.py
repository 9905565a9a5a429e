"""Image files that cannot be read, named.

A truncated JPEG, a text file called ``.jpg`` or a file cut to a few hundred
bytes makes PIL / OpenCV fail with messages that do not name the file
("image file is truncated", "cannot identify image file <_io.BytesIO ...>").
Every mmglip tool reports such a file by its path through
:class:`ImageError`.
"""
import os.path as osp
from typing import Tuple

from mmglip.utils.cli import UserError


class ImageError(UserError, OSError):
    """An image file that cannot be decoded; the message names it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'{path}: cannot read the image ({reason})')
        self.path = path
        self.reason = reason

    def __str__(self) -> str:  # OSError's own __str__ would reformat it
        return self.args[0]

    def __reduce__(self):  # picklable across dataloader workers
        return (type(self), (self.path, self.reason))


def _reason(exc: BaseException) -> str:
    if type(exc).__name__ == 'UnidentifiedImageError':
        return 'not an image in a format PIL knows'
    text = str(exc)
    return f'{type(exc).__name__}: {text}' if text else type(exc).__name__


def check_image_file(path: str) -> Tuple[int, int]:
    """Decode the whole image at ``path``; returns its ``(width, height)``
    as stored (before any EXIF rotation).

    Raises:
        ImageError: the file is missing, empty, not an image, or its data
            ends early (a truncated JPEG / PNG), naming the file.
    """
    from PIL import Image, ImageFile
    if not osp.isfile(path):
        raise ImageError(path, 'no such file')
    if osp.getsize(path) == 0:
        raise ImageError(path, 'the file is empty')
    # a global PIL switch some libraries turn on; truncation must raise here
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(path) as img:
            img.load()
            return img.size
    except Exception as exc:  # noqa: BLE001 (every decoder failure)
        raise ImageError(path, _reason(exc)) from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def decode_failure(path: str, exc: BaseException) -> ImageError:
    """The :class:`ImageError` for a decoder exception met while loading
    ``path`` in a pipeline."""
    return ImageError(path, _reason(exc))
