"""mmglip.apis.inference with what notebook users pass, and images that
cannot be read, on glip-lite and real Raccoon images."""
from pathlib import Path

import numpy as np
import pytest
import torch

from mmglip.apis import inference, init_model, iter_inference
from mmglip.utils.images import ImageError

from ..conftest import DEMO_DATA, REPO

CONFIG = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
VALID = DEMO_DATA / 'raccoon_mini/valid'
TEXTS = 'raccoon. trash can'


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    m = init_model(CONFIG)
    m.bbox_head.test_cfg['score_thr'] = 0.0
    return m


def _same(a, b):
    a, b = a.pred_instances, b.pred_instances
    assert len(a) == len(b) > 0
    assert torch.allclose(a.scores, b.scores, atol=1e-5)
    assert torch.allclose(a.bboxes, b.bboxes, atol=1e-2)
    assert a.label_names == b.label_names


def test_a_path_string_path_array_and_pil_image_agree(model, tmp_path):
    from PIL import Image
    path = VALID / 'raccoon-106.jpg'
    # a str is one image (not iterated character by character)
    by_str = inference(model, str(path), TEXTS)
    assert by_str.img_path == str(path)
    _same(by_str, inference(model, path, TEXTS))  # pathlib.Path
    bgr = np.asarray(Image.open(path).convert('RGB'))[:, :, ::-1].copy()
    by_array = inference(model, bgr, TEXTS)
    by_pil = inference(model, Image.open(path), TEXTS)
    # same decoder (PIL) for the file and the array: same predictions
    _same(by_str, by_array)
    _same(by_str, by_pil)
    assert by_array.ori_shape == (187, 269)
    # a list of mixed inputs: a list back, in order
    out = inference(model, [path, bgr], ['raccoon', 'trash can'])
    assert isinstance(out, list) and len(out) == 2
    _same(out[0], by_str)
    # a folder: all its images, sorted
    for name in ('b.jpg', 'a.png'):
        Image.open(path).save(tmp_path / name)
    out = inference(model, str(tmp_path), 'raccoon')
    assert [Path(o.img_path).name for o in out] == ['a.png', 'b.jpg']


def test_a_bad_image_is_named_and_the_others_go_on(model, tmp_path):
    good = VALID / 'raccoon-106.jpg'
    data = good.read_bytes()
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(data[:len(data) // 2])
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    with pytest.raises(ImageError, match='cut.jpg.*truncated'):
        inference(model, [good, cut], TEXTS)
    with pytest.raises(ImageError, match='notes.jpg'):
        inference(model, str(text), TEXTS)
    with pytest.raises(ImageError, match=r'<array 0>.*H x W x 3'):
        inference(model, np.zeros((4, 4), np.uint8), TEXTS)
    # iter_inference reports each image on its own, batch included
    results = list(iter_inference(model, [good, cut, text, good], TEXTS,
                                  batch_size=3))
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.error is None for r in results] == [True, False, False, True]
    assert 'cut.jpg' in str(results[1].error)
    assert 'notes.jpg' in str(results[2].error)
    _same(results[0].sample, results[3].sample)


def test_predictions_depend_on_the_batch_padding(model):
    """What --batch-size documents: images of one size batch exactly;
    a smaller image batched with a larger one is padded, and GLIP's global
    operations (DyHead scale attention, fusion) see the padding."""
    a = VALID / 'raccoon-106.jpg'  # 269 x 187
    b = VALID / 'raccoon-110.jpg'  # 184 x 274 (padded batch is larger)
    alone = inference(model, [a], TEXTS)[0]
    with_itself = inference(model, [a, a], TEXTS, batch_size=2)[1]
    _same(alone, with_itself)
    with_b = inference(model, [a, b], TEXTS, batch_size=2)[0]
    diff = (alone.pred_instances.scores[:10] -
            with_b.pred_instances.scores[:10]).abs().max()
    assert diff > 1e-4


def test_names_only_the_tokenizer_cannot_read_warn(model):
    with pytest.warns(UserWarning, match='only unknown tokens'):
        inference(model, VALID / 'raccoon-106.jpg', ['raccoon', '\U0001F99D'])


def test_texts_of_another_type_are_named_before_any_image_is_read(model):
    path = VALID / 'raccoon-106.jpg'
    for texts, got in ((None, 'got None.'),
                       (['raccoon', None], 'got a list holding None '
                        '(NoneType), which is not a string.'),
                       (3, 'got 3 (int).')):
        with pytest.raises(TypeError) as err:
            inference(model, path, texts)
        msg = str(err.value)
        assert msg.startswith('texts: give the class names / phrases as one '
                              'string') and msg.endswith(got), msg
        # the generator says so at its first step, before any image
        with pytest.raises(TypeError, match='^texts: '):
            next(iter_inference(model, VALID / 'missing.jpg', texts))
