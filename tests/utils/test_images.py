"""mmglip.utils.images.missing_images: the one check LVIS, Flickr30k and the
grounding datasets run over the image paths of their annotation file."""
import shutil
from pathlib import Path

from mmglip.utils.images import missing_images

RACCOON_MINI = Path(__file__).resolve().parents[2] / 'demo' / 'data' / \
    'raccoon_mini'


def test_missing_images_names_the_first_missing_file_or_folder(tmp_path):
    image = sorted(RACCOON_MINI.rglob('*.jpg'))[0]
    (tmp_path / 'imgs').mkdir()
    there = tmp_path / 'imgs' / 'a.jpg'
    shutil.copy(image, there)
    ann = str(tmp_path / 'ann.json')
    # all there (a path listed twice counts once)
    assert missing_images([str(there), str(there)], ann, 'get them') is None
    # one of two missing in an existing folder: counted, the first named
    gone = tmp_path / 'imgs' / 'b.jpg'
    assert missing_images([str(there), str(gone), str(there)], ann,
                          'get them') == (
        f'1 of the 2 images of {ann} are missing, e.g. {gone}; get them.')
    # a folder that does not exist is named as such
    lost = tmp_path / 'other' / 'c.jpg'
    assert missing_images([str(lost), str(tmp_path / 'other' / 'd.jpg')],
                          ann, 'set data_prefix') == (
        f'image folder {tmp_path / "other"} does not exist ({ann} refers to '
        '2 image(s) in it); set data_prefix.')
    # a folder path is no image
    assert missing_images([str(tmp_path / 'imgs')], ann, 'x').startswith(
        f'1 of the 1 images of {ann} are missing')
