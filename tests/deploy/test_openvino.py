"""The OpenVINO backend (issue 21, item 4): the exported folder in OpenVINO
gives mmglip's PyTorch detections (fp32, the issue's bar: scores 1e-4,
boxes 0.01 px; DyHead's DeformConv through mmglip's conversion rule), bf16
is an explicit option whose drift is reported, the tools take it, and a
missing openvino or a bad file is one line.

Models, prompt and images: tests/deploy/tiny.py, exported once per session
(conftest's ``exports``, shared with test_export.py).
"""
import importlib.util
import json
import os.path as osp
import sys

import pytest

from mmglip.apis import inference, init_model
from mmglip.deploy import DeployError, compare
from mmglip.deploy.agreement import top_k_kept

from ..tool_modules import load_tool
from .tiny import (NAMES, TEST_IMAGES, VARIANTS, assert_same_jsons,
                   benchmark_row, damaged_copy, infer_jsons, tool_metrics)

#: tests that run OpenVINO (tools/setup_env.sh installs it: the deploy
#: extra); the not-installed message is checked without it
needs_openvino = pytest.mark.skipif(
    importlib.util.find_spec('openvino') is None,
    reason='openvino is not installed (pip install -e .[deploy])')


def _bf16_cpu() -> bool:
    from mmglip.deploy.openvino_backend import core
    return 'BF16' in core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')


@needs_openvino
@pytest.mark.parametrize('variant', list(VARIANTS))
def test_openvino_gives_the_pytorch_detections(variant, exports):
    model, onnx_dir, weights = exports(variant)
    ov_model = init_model(model.cfg, weights, backend='openvino',
                          onnx=onnx_dir)
    # fp32 asked of OpenVINO explicitly (its default is bf16 on CPUs
    # with bf16 support)
    assert ov_model._det.inference_precision == 'f32'
    ov_model.chunks_per_run = 2  # early fusion: 3 chunks in 2 runs
    for batch_size in (1, 2):
        ref = inference(model, TEST_IMAGES, list(NAMES), batch_size)
        got = inference(ov_model, TEST_IMAGES, list(NAMES), batch_size)
        for r, g in zip(ref, got):
            a = compare(r.pred_instances, g.pred_instances)
            assert a.ok() and a.count == 100, str(a)
            assert g.pred_instances.label_names == \
                r.pred_instances.label_names


@needs_openvino
def test_bf16_is_an_explicit_option(exports):
    model, onnx_dir, weights = exports('glip-t_c')
    if not _bf16_cpu():
        with pytest.raises(DeployError, match='no bf16 support'):
            init_model(model.cfg, weights, backend='openvino',
                       onnx=onnx_dir, precision='bf16')
        pytest.skip('this CPU has no bf16: the refusal was checked')
    ov_model = init_model(model.cfg, weights, backend='openvino',
                          onnx=onnx_dir, precision='bf16')
    assert ov_model._det.inference_precision == 'bf16'
    # the text encoder stays fp32
    assert ov_model._text.inference_precision == 'f32'
    ref = inference(model, TEST_IMAGES[0], list(NAMES)).pred_instances
    got = inference(ov_model, TEST_IMAGES[0], list(NAMES)).pred_instances
    assert len(got) == len(ref) == 300  # 3 chunks, 100 each
    drift = top_k_kept(ref, got)
    kept = int(drift.split('kept ')[1].split(' /')[0])
    # the tiny random model's scores lie close together: bf16 keeps most
    # of its top-10, not all
    assert kept >= 5, drift


@needs_openvino
def test_precisions_each_backend_takes(exports, capsys, tmp_path):
    model, onnx_dir, weights = exports('glip-lite')
    with pytest.raises(DeployError) as err:
        init_model(model.cfg, weights, backend='onnxruntime',
                   onnx=onnx_dir, precision='bf16')
    msg = str(err.value)
    assert 'no bf16 kernels' in msg and '--backend openvino' in msg
    assert '\n' not in msg
    with pytest.raises(ValueError, match='PyTorch runs fp32'):
        init_model(model.cfg, weights, precision='bf16')
    infer = load_tool('tools/infer.py')
    for extra, said in (
            (['--precision', 'bf16'], 'PyTorch runs fp32'),
            (['--backend', 'openvino'], '--onnx DIR go together'),
            (['--backend', 'onnxruntime', '--onnx', onnx_dir,
              '--precision', 'bf16'], 'no bf16 kernels')):
        assert infer.run_tool(infer.main, [
            TEST_IMAGES[0], 'glip-lite', '--texts', 'dog', '--out-dir',
            str(tmp_path), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and said in err, err


def test_openvino_not_installed(exports, monkeypatch):
    model, onnx_dir, _ = exports('glip-lite')
    monkeypatch.setitem(sys.modules, 'openvino', None)
    monkeypatch.setattr('mmglip.deploy.openvino_backend._CORE', None)
    with pytest.raises(DeployError) as err:
        init_model(model.cfg, backend='openvino', onnx=onnx_dir)
    msg = str(err.value)
    assert 'openvino is not installed' in msg
    assert 'pip install openvino' in msg and '\n' not in msg


@needs_openvino
@pytest.mark.parametrize('damage', ['truncated', 'not onnx'])
def test_a_bad_file_is_one_line(exports, tmp_path, damage, capfd):
    model, onnx_dir, _ = exports('glip-lite')
    broken, target = damaged_copy(onnx_dir, tmp_path, 'detector.onnx',
                                  damage)
    capfd.readouterr()
    with pytest.raises(DeployError) as err:
        init_model(model.cfg, backend='openvino', onnx=str(broken))
    msg = str(err.value)
    assert str(target) in msg and 'not a readable ONNX model' in msg
    assert '\n' not in msg
    # no other frontend's parse errors on the screen
    out = capfd.readouterr()
    assert 'tensorflow' not in (out.out + out.err).lower()


@needs_openvino
def test_tools_run_the_openvino_backend(exports, tmp_path):
    model, onnx_dir, weights = exports('glip-lite')
    config = tmp_path / 'glip-lite-test.py'
    model.cfg.dump(str(config))
    # tools/infer.py: the same JSON as PyTorch's
    assert_same_jsons(
        infer_jsons(config, weights, tmp_path / 'pytorch', vis=False),
        infer_jsons(config, weights, tmp_path / 'openvino', [
            '--backend', 'openvino', '--onnx', onnx_dir], vis=False))
    # tools/test.py: PyTorch's AP
    metrics = {
        'pytorch': tool_metrics(config, weights, tmp_path / 'test_pytorch'),
        'openvino': tool_metrics(
            config, weights, tmp_path / 'test_openvino',
            ['--backend', 'openvino', '--onnx', onnx_dir])}
    ap = {k: v for k, v in metrics['pytorch'].items() if 'mAP' in k}
    assert ap and ap == {k: metrics['openvino'][k] for k in ap}


@needs_openvino
def test_benchmark_tool_has_an_openvino_column(exports, tmp_path):
    _, onnx_dir, _ = exports('glip-lite')
    header, cells = benchmark_row(onnx_dir, tmp_path,
                                  ['--onnx-backends', 'openvino'])
    assert header.endswith('| mmglip OpenVINO | OpenVINO / mmglip |')
    ours, _, _, t_ov, ratio = cells[3:]
    assert float(ratio) == pytest.approx(float(t_ov) / float(ours),
                                         rel=0.05, abs=0.01)


def test_drift_pairs_each_kept_detection_with_its_best_overlap():
    import torch
    from mmengine.structures import InstanceData

    from mmglip.deploy.agreement import drift
    boxes = torch.tensor([[0., 0., 10., 10.], [20., 20., 40., 40.],
                          [50., 50., 60., 60.]])
    ref = InstanceData(labels=torch.tensor([0, 1, 2]),
                       scores=torch.tensor([0.9, 0.8, 0.7]), bboxes=boxes)
    # the first two moved a little (one of them to rank 1), the third
    # lost its label
    cand = InstanceData(
        labels=torch.tensor([1, 0, 1]),
        scores=torch.tensor([0.85, 0.84, 0.7]),
        bboxes=torch.stack([boxes[1] + 0.5, boxes[0] + 0.25, boxes[2]]))
    d = drift(ref, cand)
    assert (d.kept, d.count_ref, d.top1_same) == (2, 3, False)
    assert d.score_drift == pytest.approx(0.06, abs=1e-6)
    assert d.box_drift == pytest.approx(0.5)
    assert 'top-10 kept 2 / 3' in str(d) and 'box drift 0.50 px' in str(d)


@needs_openvino
def test_speed_table_times_and_compares_each_column(exports, capsys):
    _, onnx_dir, weights = exports('glip-lite')
    tool = load_tool('tools/deploy/speed_table.py')
    assert tool.main([
        '--checkpoint', f'glip-lite={weights}', '--onnx',
        f'glip-lite={onnx_dir}', '--backends', 'openvino', '--size', '128',
        '160', '--warmup', '0', '--reps', '2', '--pause', '0']) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    table = [ln for ln in lines if ln.startswith('| glip-lite |')]
    assert [ln.split('|')[2].strip() for ln in table] == [
        'PyTorch', 'openvino', 'load average']
    cells = [c.strip() for c in table[1].strip('|').split('|')]
    # fp32 OpenVINO keeps PyTorch's top-10 in place
    assert cells[5:] == ['10 / 10', '0.0000', '0.00', 'same']
    assert len(cells[4].split()) == 2  # one ratio per round


@needs_openvino
def test_the_page_runs_the_openvino_backend(exports, tmp_path, capsys):
    """tools/demo_app.py --onnx DIR --backend openvino: the page's detections
    are PyTorch's (same JSON within the agreement bar)."""
    model, onnx_dir, weights = exports('glip-lite')
    config = tmp_path / 'glip-lite-test.py'
    model.cfg.dump(str(config))
    demo = load_tool('tools/demo_app.py')
    jsons = {}
    for backend, extra in (('pytorch', {}), ('openvino', dict(
            onnx=onnx_dir, backend='openvino'))):
        app = demo.DemoApp(tmp_path / backend)
        said = app.load(str(config), weights, **extra)
        assert ('OpenVINO' in said) == (backend == 'openvino')
        _, _, files, _ = app.detect(TEST_IMAGES, '. '.join(NAMES), 0.0)
        jsons[backend] = {osp.basename(f): json.loads(open(f).read())
                          for f in files}
    assert_same_jsons(jsons['pytorch'], jsons['openvino'])
    # --backend / --precision without --onnx: one line, nothing started
    capsys.readouterr()
    assert demo.run_tool(demo.main, [
        str(config), '--backend', 'openvino', '--out-dir',
        str(tmp_path / 'x')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and '--onnx DIR' in err
    assert not (tmp_path / 'x').exists()
    # bf16 with ONNX Runtime: refused before anything is loaded or written
    assert demo.run_tool(demo.main, [
        str(config), '--onnx', onnx_dir, '--precision', 'bf16',
        '--out-dir', str(tmp_path / 'x')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'bf16' with onnxruntime" in err
    assert not (tmp_path / 'x').exists()
