"""Image files that cannot be read, named.

A truncated JPEG, a text file called ``.jpg`` or a file cut to a few hundred
bytes makes PIL / OpenCV fail with messages that do not name the file
("image file is truncated", "cannot identify image file <_io.BytesIO ...>").
Every mmglip tool reports such a file by its path through
:class:`ImageError`. :func:`image_size` gives an image's size as loaders see
it (EXIF rotations applied).
"""
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

from mmglip.errors import UserError


class ImageError(UserError, OSError):
    """An image file that cannot be decoded; the message names it."""

    def __init__(self, path: str, reason: Optional[str] = None) -> None:
        # one argument: an already formatted message (how torch's
        # DataLoader re-raises a worker's exception, ``type(exc)(msg)``)
        super().__init__(path if reason is None else
                         f'{path}: cannot read the image ({reason})')
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


def image_size(path: str, decode: bool = False) -> Tuple[int, int]:
    """(width, height) of an image file as loaders see it: EXIF
    orientations 5-8 (rotations by 90 degrees) swap the two.

    Args:
        path: the image file.
        decode: decode the whole image first
            (:func:`check_image_file`), so that a
            truncated file is caught; by default only the header is read,
            which a JPEG cut short still passes.

    Raises:
        ImageError: the file is missing or cannot be read as an image (with
            ``decode=True`` also: its data ends early), naming it.
    """
    from PIL import Image
    if decode:
        check_image_file(path)
    elif not osp.isfile(path):
        raise ImageError(path, 'no such file')
    try:
        with Image.open(path) as img:
            width, height = img.size
            try:
                orientation = img.getexif().get(0x0112, 1)
            except Exception:  # noqa: BLE001 (broken EXIF: ignore it)
                orientation = 1
    except Exception as exc:  # noqa: BLE001 (named below)
        raise decode_failure(path, exc) from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height


def missing_images(paths: Sequence[str], ann_file: str,
                   advice: str) -> Optional[str]:
    """One line naming the images of ``ann_file`` that are not on disk, or
    None when all are there.

    The datasets that read image paths from an annotation file (LVIS,
    Flickr30k, grounding) check them all before training or testing
    starts: a missing folder is named as such, otherwise the count and the
    first missing file; ``advice`` says where to get the images or what to
    set.
    """
    files = sorted(set(paths))
    missing = [p for p in files if not osp.isfile(p)]
    if not missing:
        return None
    folder = osp.dirname(missing[0])
    if folder and not osp.isdir(folder):
        return (f'image folder {folder} does not exist ({ann_file} refers to '
                f'{len(missing)} image(s) in it); {advice}.')
    return (f'{len(missing)} of the {len(files)} images of {ann_file} are '
            f'missing, e.g. {missing[0]}; {advice}.')


#: file suffixes taken as images when a folder is listed
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def list_images(inputs: Union[str, os.PathLike, Sequence],
                on_duplicate: Optional[Callable[[str], None]] = None
                ) -> List[str]:
    """An image, a folder of images, or a list of either -> image paths.

    Folders are read one level deep (files with an image suffix,
    :data:`IMAGE_SUFFIXES`, sorted). A file given twice (by any path) is
    kept once; ``on_duplicate(path)`` is called for the repeat.

    Raises:
        FileNotFoundError: a path that does not exist, or a folder without
            images, naming it.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    images, seen = [], set()
    for item in inputs:
        item = os.fspath(item)
        if osp.isdir(item):
            found = sorted(
                osp.join(item, f) for f in os.listdir(item)
                if f.lower().endswith(IMAGE_SUFFIXES)
                and osp.isfile(osp.join(item, f)))
            if not found:
                raise FileNotFoundError(
                    f'{item}: no images ({", ".join(IMAGE_SUFFIXES)}) in '
                    'this folder.')
        elif osp.isfile(item):
            found = [item]
        else:
            raise FileNotFoundError(f'{item}: no such image or folder.')
        for path in found:
            key = osp.realpath(path)
            if key in seen:
                if on_duplicate is not None:
                    on_duplicate(path)
                continue
            seen.add(key)
            images.append(path)
    return images
