"""The deploy tests' models, prompt and images: glip-lite as configured, and
GLIP-T (A) / (C) shrunk as the fast-path tests build them
(tests/models/tiny_glip.py) with 2 fusion blocks and DyHead offsets away
from zero (so that ``DeformConv`` samples between pixels); test images
resized to at most 160 x 128."""
import torch
from mmengine.config import Config

from mmglip.models.layers.dyhead_block import GLIPDyHeadBlock

from ..conftest import DEMO_DATA, REPO
from ..models.tiny_glip import NAMES, VARIANTS, build_tiny_glip  # noqa: F401

TEST_IMAGES = [str(DEMO_DATA / 'raccoon_mini/test/raccoon-134.jpg'),
               str(DEMO_DATA / 'raccoon_mini/test/raccoon-5.jpg')]


def build(variant, tiny_bert, seed=0):
    """The seeded test model of ``variant`` with its ``cfg``."""
    captured = {}

    def edit(m):
        m.chunk_size = 3
        if variant != 'glip-lite':
            m.fusion_neck.num_blocks = 2
        captured['model'] = m

    model = build_tiny_glip(VARIANTS[variant], tiny_bert, seed,
                            max_tokens=48, edit=edit)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, GLIPDyHeadBlock) and \
                    module.offset is not None:
                torch.nn.init.normal_(module.offset.weight, 0, 0.1)
    cfg = Config.fromfile(str(REPO / VARIANTS[variant]))
    cfg.model = captured['model']
    for step in cfg.test_dataloader.dataset.pipeline:
        if 'Resize' in step['type']:
            step['scale'] = (160, 128)
    model.cfg = cfg
    return model


def save_weights(model, path):
    torch.save(dict(state_dict=model.state_dict(), meta={}), str(path))
    return str(path)


def infer_jsons(config, weights, out, backend_args=(), vis=True):
    """``tools/infer.py`` on :data:`TEST_IMAGES` with :data:`NAMES` (every
    detection kept): ``{file name: its JSON}``."""
    import json

    from ..tool_modules import load_tool
    infer = load_tool('tools/infer.py')
    assert infer.run_tool(infer.main, [
        *TEST_IMAGES, str(config), '--weights', weights, '--texts',
        '. '.join(NAMES), '--pred-score-thr', '0.0', '--out-dir', str(out),
        *([] if vis else ['--no-vis']), *backend_args]) == 0
    return {p.name: json.loads(p.read_text())
            for p in (out / 'preds').iterdir()}


def assert_same_jsons(ref, got, score_tol=1e-4, box_tol=0.01):
    """The same files, labels in the same order, scores and boxes within
    the issue's agreement bar."""
    assert ref.keys() == got.keys()
    for name, want in ref.items():
        have = got[name]
        assert have['label_names'] == want['label_names'] and want['scores']
        assert max(abs(a - b) for a, b in zip(
            want['scores'], have['scores'])) <= score_tol
        boxes = zip(want['bboxes'], have['bboxes'])
        assert max(abs(a - b) for p, q in boxes
                   for a, b in zip(p, q)) <= box_tol


def damaged_copy(onnx_dir, tmp_path, name, damage):
    """A copy of the export ``onnx_dir`` whose file ``name`` is cut in half
    (``truncated``), JSON (``not onnx``) or gone (``missing``); returns
    ``(folder, the damaged file)``."""
    import shutil
    broken = tmp_path / 'broken'
    shutil.copytree(onnx_dir, broken)
    target = broken / name
    if damage == 'truncated':
        data = target.read_bytes()
        target.write_bytes(data[:len(data) // 2])
    elif damage == 'not onnx':
        target.write_text('{"not": "an onnx model"}')
    else:
        target.unlink()
    return broken, target


def benchmark_row(onnx_dir, tmp_path, backend_args=()):
    """``tools/analysis/benchmark.py`` part a on glip-lite at 160 x 128 with
    the export's columns: (the table's header line, the row's cells)."""
    from ..conftest import DEMO_DATA as data
    from ..tool_modules import load_tool
    out = tmp_path / 'table.md'
    assert load_tool('tools/analysis/benchmark.py').main([
        '--variants', 'glip-lite', '--parts', 'a', '--images',
        str(data / 'raccoon_mini/valid'), '--num-images', '1', '--size',
        '128', '160', '--warmup', '0', '--reps', '1', '--threads', '1',
        '--onnx', f'glip-lite={onnx_dir}', *backend_args, '--out',
        str(out)]) == 0
    lines = out.read_text().splitlines()
    cells = [c.strip() for c in lines[4].strip('|').split('|')]
    assert cells[:2] == ['a', 'glip-lite'] and len(cells) == 8
    return lines[2], cells


def tool_metrics(config, weights, work, backend_args=()):
    """``tools/test.py`` of ``config`` with ``weights`` (COCO metrics of
    its test split): the metrics it wrote into ``work``."""
    import json

    from ..tool_modules import load_tool
    test = load_tool('tools/test.py')
    assert test.run_tool(test.main, [
        str(config), weights, '--work-dir', str(work), *backend_args]) == 0
    return json.loads(sorted(work.glob('*/*.json'))[-1].read_text())
