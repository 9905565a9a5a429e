"""ONNX export and the ONNX Runtime backend (issue 21): exported graphs give
mmglip's PyTorch detections on real images (chunked prompts, image sizes
and batch sizes other than the traced ones), the folder records and checks
its model, bad inputs are one line each.

Models, prompt and images: tests/deploy/tiny.py (glip-lite, small seeded
GLIP-T (A) / (C)), exported once per session (conftest's ``exports``).
"""
import hashlib
import json
import shutil

import onnx
import pytest
import torch

from mmglip.apis import inference, init_model
from mmglip.deploy import DeployError, compare, export_onnx, weights_identity
from mmglip.text import PromptError
from mmglip.version import __version__

from ..tool_modules import load_tool
from .tiny import (NAMES, TEST_IMAGES, VARIANTS, assert_same_jsons,
                   benchmark_row, build, damaged_copy, infer_jsons,
                   save_weights, tool_metrics)


def _agree(ref, got, chunks=3):
    for r, g in zip(ref, got):
        a = compare(r.pred_instances, g.pred_instances)
        assert a.ok() and a.count == 100, str(a)
        assert g.pred_instances.label_names == r.pred_instances.label_names
        # every chunk of the prompt found something
        assert {int(lbl) // 3 for lbl in g.pred_instances.labels} == set(
            range(chunks))


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_onnx_runtime_gives_the_pytorch_detections(variant, exports):
    model, onnx_dir, weights = exports(variant)
    ort_model = init_model(model.cfg, weights, backend='onnxruntime',
                           onnx=onnx_dir)
    # with early fusion the 3 chunks go in two runs (2 + 1) of the graph
    ort_model.chunks_per_run = 2
    shapes = set()
    for batch_size in (1, 2):
        ref = inference(model, TEST_IMAGES, list(NAMES), batch_size)
        got = inference(ort_model, TEST_IMAGES, list(NAMES), batch_size)
        _agree(ref, got)
        shapes |= {r.metainfo['batch_input_shape'] for r in got}
    # one graph for images of two sizes
    assert len(shapes) == 2


def test_fixed_prompt_is_baked_into_one_graph(tiny_bert, tmp_path):
    model = build('glip-t_c', tiny_bert)
    weights = save_weights(model, tmp_path / 'w.pth')
    out = tmp_path / 'fixed'
    export_onnx(model, out, variant='glip-t_c',
                weights=weights_identity(weights), texts=list(NAMES),
                log=lambda msg: None)
    files = sorted(p.name for p in out.iterdir())
    assert files == ['detector.onnx', 'tokenizer']
    graph = onnx.load(str(out / 'detector.onnx'))
    assert [i.name for i in graph.graph.input] == ['image']
    ort_model = init_model(model.cfg, weights, backend='onnxruntime',
                           onnx=str(out))
    _agree(inference(model, TEST_IMAGES, list(NAMES)),
           inference(ort_model, TEST_IMAGES, list(NAMES)))
    with pytest.raises(PromptError, match='fixed prompt'):
        inference(ort_model, TEST_IMAGES[0], ['raccoon', 'dog'])


def test_metadata_records_the_model(exports):
    model, onnx_dir, weights = exports('glip-t_c')
    sha = hashlib.sha256(open(weights, 'rb').read()).hexdigest()
    pre = model.cfg.model.data_preprocessor
    for name in ('text_encoder.onnx', 'detector.onnx'):
        proto = onnx.load(f'{onnx_dir}/{name}')
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta['mmglip.variant'] == 'glip-t_c'
        assert meta['mmglip.weights_sha256'] == sha
        assert meta['mmglip.version'] == __version__
        assert meta['mmglip.opset'] == '19'
        assert [o.version for o in proto.opset_import if o.domain in (
            '', 'ai.onnx')] == [19]
        assert json.loads(meta['mmglip.mean']) == list(pre.mean)
        assert json.loads(meta['mmglip.std']) == list(pre.std)
        assert meta['mmglip.max_tokens'] == '48'
    # standard ops only: each deformable conv call one DeformConv node (per
    # block and level its own, the finer level's and the coarser level's
    # conv; the first / last level lack one: 5 * 3 - 2 calls, 2 blocks)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count('DeformConv') == (5 * 3 - 2) * 2
    assert {n.domain for n in proto.graph.node} <= {'', 'ai.onnx'}


def test_a_folder_of_another_model_or_other_weights_is_refused(
        exports, tmp_path):
    _, dir_a, _ = exports('glip-t_a')
    model_c, _, weights_c = exports('glip-t_c')
    with pytest.raises(DeployError) as err:
        init_model(model_c.cfg, backend='onnxruntime', onnx=dir_a)
    msg = str(err.value)
    assert dir_a in msg and 'glip-t_a' in msg
    assert 'glip_swin-t_c_zeroshot_coco' in msg and '\n' not in msg
    # the right folder, other weights (one weight changed)
    model_c2 = build('glip-t_c', model_c.cfg.model.language_model.name)
    with torch.no_grad():
        model_c2.bbox_head.bias0.add_(1.0)
    other = save_weights(model_c2, tmp_path / 'other.pth')
    _, dir_c, _ = exports('glip-t_c')
    with pytest.raises(DeployError) as err:
        init_model(model_c.cfg, other, backend='onnxruntime', onnx=dir_c)
    msg = str(err.value)
    other_sha = hashlib.sha256(open(other, 'rb').read()).hexdigest()
    assert other in msg and other_sha[:12] in msg
    assert weights_c in msg and '\n' not in msg


def test_a_prompt_longer_than_the_exported_maximum(exports):
    model, onnx_dir, weights = exports('glip-t_c')
    ort_model = init_model(model.cfg, weights, backend='onnxruntime',
                           onnx=onnx_dir)
    assert ort_model.max_tokens == 48  # from the folder's metadata
    # a class name of 50 tokens: no chunk can hold it
    with pytest.raises(PromptError, match=r'tokens \(> 48\)') as err:
        inference(ort_model, TEST_IMAGES[0], [' '.join(['cat'] * 50), 'dog'])
    assert '\n' not in str(err.value)
    # a caption of 50 tokens
    from mmglip.deploy.runtime import OrtGLIP
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(
        text=' '.join(['cat'] * 50), tokens_positive=[[[0, 3]]]))
    with pytest.raises(PromptError, match='at most 48'):
        OrtGLIP.predict(ort_model, None, [sample])


@pytest.mark.parametrize('damage', ['truncated', 'not onnx', 'missing'])
def test_truncated_or_non_onnx_files(exports, tmp_path, damage):
    model, onnx_dir, _ = exports('glip-lite')
    broken, target = damaged_copy(onnx_dir, tmp_path, 'text_encoder.onnx',
                                  damage)
    with pytest.raises(DeployError) as err:
        init_model(model.cfg, backend='onnxruntime', onnx=str(broken))
    msg = str(err.value)
    assert str(target) in msg and '\n' not in msg
    assert ('no such file' if damage == 'missing' else
            'not a readable ONNX model') in msg


def test_onnx_not_installed(exports, monkeypatch, capsys, tmp_path):
    model, onnx_dir, _ = exports('glip-lite')
    monkeypatch.setitem(__import__('sys').modules, 'onnxruntime', None)
    with pytest.raises(DeployError, match=r'pip install -e \.\[deploy\]'):
        init_model(model.cfg, backend='onnxruntime', onnx=onnx_dir)
    tool = load_tool('tools/deploy/export_onnx.py')
    status = tool.run_tool(tool.main, ['glip-lite', '--out',
                                       str(tmp_path / 'x')])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert 'onnxruntime is not installed' in err and '.[deploy]' in err
    assert not (tmp_path / 'x').exists()


def test_infer_tool_writes_the_same_json_with_onnxruntime(exports,
                                                          tmp_path):
    model, onnx_dir, weights = exports('glip-lite')
    config = tmp_path / 'glip-lite-test.py'
    model.cfg.dump(str(config))
    preds = {}
    for backend, extra in (('pytorch', []), ('onnxruntime', [
            '--backend', 'onnxruntime', '--onnx', onnx_dir])):
        preds[backend] = infer_jsons(config, weights, tmp_path / backend,
                                     extra)
        assert len(list((tmp_path / backend / 'vis').iterdir())) == 2
    assert_same_jsons(preds['pytorch'], preds['onnxruntime'])


class _Zeta(torch.nn.Module):
    """A layer with an op ONNX has no export for."""

    def forward(self, x):
        return torch.special.zeta(x.abs() + 2, torch.full_like(x, 2.0))


def test_a_model_that_cannot_be_exported_names_module_and_op(
        tiny_bert, tmp_path, capfd):
    model = build('glip-t_a', tiny_bert)
    model.bbox_head.scales[1] = _Zeta()
    with pytest.raises(DeployError) as err:
        export_onnx(model, tmp_path / 'out', variant='glip-t_a',
                    log=lambda msg: None)
    msg = str(err.value)
    assert 'bbox_head.scales.1 (_Zeta)' in msg
    assert 'aten::special_zeta' in msg and '\n' not in msg
    # nothing half-written, and not the exporter's graph dump on screen
    assert not (tmp_path / 'out').exists()
    assert [p.name for p in tmp_path.iterdir()] == []
    out = capfd.readouterr()
    assert 'graph' not in out.out + out.err


def test_test_tool_evaluates_an_exported_model(exports, tmp_path, capsys):
    model, onnx_dir, weights = exports('glip-lite')
    config = tmp_path / 'glip-lite-test.py'
    model.cfg.dump(str(config))
    metrics = {
        'pytorch': tool_metrics(config, weights, tmp_path / 'test_pytorch'),
        'onnxruntime': tool_metrics(
            config, weights, tmp_path / 'test_onnxruntime',
            ['--backend', 'onnxruntime', '--onnx', onnx_dir])}
    ap = {k: v for k, v in metrics['pytorch'].items() if 'mAP' in k}
    assert ap and ap == {k: metrics['onnxruntime'][k] for k in ap}


def test_agreement_pairs_tied_detections_in_either_order():
    from mmengine.structures import InstanceData
    boxes = torch.tensor([[0., 0., 10., 10.], [5., 5., 20., 20.],
                          [1., 2., 3., 4.]])
    ref = InstanceData(labels=torch.tensor([0, 1, 2]),
                       scores=torch.tensor([0.9, 0.5, 0.5]), bboxes=boxes)
    # the tie at 0.5 comes out the other way round: still the same
    swapped = InstanceData(labels=torch.tensor([0, 2, 1]),
                           scores=torch.tensor([0.9, 0.5, 0.50002]),
                           bboxes=boxes[[0, 2, 1]])
    a = compare(ref, swapped)
    assert a.ok() and a.max_score_diff == pytest.approx(2e-5, abs=1e-6)
    # a label that differs, or a box 0.02 px off, is not
    other = InstanceData(labels=torch.tensor([0, 1, 3]),
                         scores=ref.scores, bboxes=boxes)
    assert not compare(ref, other).ok()
    moved = InstanceData(labels=ref.labels, scores=ref.scores,
                         bboxes=boxes + torch.tensor([0., 0., 0., 0.02]))
    a = compare(ref, moved)
    assert not a.ok() and a.max_box_diff == pytest.approx(0.02, abs=1e-5)


def test_int8_is_an_explicit_option(exports, tmp_path):
    from mmglip.deploy.agreement import top_k_kept
    from mmglip.deploy.export import quantize_int8
    model, onnx_dir, weights = exports('glip-t_a')
    folder = tmp_path / 'int8'
    shutil.copytree(onnx_dir, folder)
    # what export_onnx(..., precision='int8') does after its fp32 check
    quantize_int8(str(folder / 'detector.onnx'))
    proto = onnx.load(str(folder / 'detector.onnx'))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta['mmglip.precision'] == 'int8'
    assert meta['mmglip.weights_sha256'] == hashlib.sha256(
        open(weights, 'rb').read()).hexdigest()
    ops = {n.op_type for n in proto.graph.node}
    assert 'MatMulInteger' in ops and 'DeformConv' in ops
    ort_model = init_model(model.cfg, weights, backend='onnxruntime',
                           onnx=str(folder))
    got = inference(ort_model, TEST_IMAGES[0], list(NAMES)).pred_instances
    ref = inference(model, TEST_IMAGES[0], list(NAMES)).pred_instances
    assert len(got) == len(ref) == 300  # 3 chunks, 100 each
    assert 'top-10 kept' in top_k_kept(ref, got)
    with pytest.raises(DeployError, match="precision='fp16'"):
        export_onnx(model, tmp_path / 'x', variant='glip-t_a',
                    precision='fp16')


def test_benchmark_tool_times_the_onnx_runtime_backend(exports, tmp_path):
    _, onnx_dir, _ = exports('glip-lite')
    header, cells = benchmark_row(onnx_dir, tmp_path)
    assert header.endswith('| mmglip ONNX Runtime | ONNX Runtime / mmglip |')
    ours, ref, ratio, ort, ort_ratio = cells[3:]
    assert ref == 'n/a' and ratio == '-'
    assert float(ort_ratio) == pytest.approx(float(ort) / float(ours),
                                             rel=0.05, abs=0.01)


def test_export_never_replaces_what_the_user_made(tmp_path, capsys):
    tool = load_tool('tools/deploy/export_onnx.py')
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('keep me')
    for extra in ([], ['--overwrite']):
        assert tool.run_tool(tool.main, ['glip-lite', '--out', str(mine),
                                         *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(mine) in err
        assert ('--overwrite' in err) if not extra else (
            'not an mmglip export' in err)
    assert [p.name for p in mine.iterdir()] == ['notes.txt']
    assert (mine / 'notes.txt').read_text() == 'keep me'
