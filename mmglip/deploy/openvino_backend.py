"""The exported ONNX graphs in OpenVINO (``backend='openvino'``).

OpenVINO's runtime reads the same folder as ONNX Runtime (its ONNX
frontend, no conversion step or second export) and is the faster of the
two on x86 CPUs (README, "Deploy"): fp32 by default, bf16 (its
``INFERENCE_PRECISION_HINT``) on CPUs with AVX512-BF16 or AMX as an
explicit option. :class:`OvSession` has the part of ONNX Runtime's
``InferenceSession`` interface that :class:`~mmglip.deploy.OrtGLIP` uses
(``get_inputs``, ``run``), so pre- and post-processing stay one code path.

One op needs a rule: OpenVINO 2026.4's ONNX frontend has no conversion
for ONNX's ``DeformConv`` (opset 19; "No conversion rule found for
operations: DeformConv-19"). :func:`_deform_conv` maps it onto
OpenVINO's own ``DeformableConvolution`` (opset 8): the inputs reordered
(data, offsets, weights, mask), ``bilinear_interpolation_pad`` on (corners
outside the image count as 0, as in ONNX / mmcv; off, OpenVINO skips
samples within a pixel of the border) and the bias added after it.
"""
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence

import numpy as np

from .errors import DeployError

INSTALL_OPENVINO = 'pip install openvino'

#: mmglip's precision names -> OpenVINO's inference precision
PRECISIONS = {'fp32': 'f32', 'bf16': 'bf16'}

_CORE = None


def require_openvino():
    """``openvino``, or a :class:`DeployError` that says how to install
    it."""
    try:
        import openvino
        return openvino
    except ImportError as err:
        raise DeployError(
            'openvino is not installed; --backend openvino needs it: '
            f'{INSTALL_OPENVINO} (or pip install -e .[deploy] from the '
            'mmglip checkout).') from err


def _deform_conv(node):
    """ONNX ``DeformConv`` (X, W, offset[, B[, mask]]) as OpenVINO's
    ``DeformableConvolution`` (data, offsets, filters[, mask]) + bias."""
    import openvino.opset8 as ops
    inputs = node.get_input_size()
    pads = list(node.get_attribute('pads'))
    half = len(pads) // 2
    out = ops.deformable_convolution(
        node.get_input(0), node.get_input(2), node.get_input(1),
        list(node.get_attribute('strides')), pads[:half], pads[half:],
        list(node.get_attribute('dilations')),
        mask=node.get_input(4) if inputs > 4 else None,
        group=node.get_attribute('group', 1),
        deformable_group=node.get_attribute('offset_group', 1),
        bilinear_interpolation_pad=True)
    if inputs > 3:
        shape = ops.constant(np.array([1, -1, 1, 1], np.int64))
        out = ops.add(out, ops.reshape(node.get_input(3), shape, False))
    return out.outputs()


def core():
    """One OpenVINO ``Core`` per process."""
    global _CORE
    if _CORE is None:
        _CORE = require_openvino().Core()
    return _CORE


def read_onnx(path: str):
    """An ``.onnx`` file as an OpenVINO model, through the ONNX frontend
    only (``Core.read_model`` tries every frontend on a file that is not
    ONNX, TensorFlow's printing parse errors) with the ``DeformConv``
    rule."""
    require_openvino()
    from openvino.frontend import FrontEndManager
    from openvino.frontend.onnx import ConversionExtension
    frontend = FrontEndManager().load_by_framework('onnx')
    frontend.add_extension(ConversionExtension('DeformConv', _deform_conv))
    return frontend.convert(frontend.load(path))


def check_precision(precision: str) -> str:
    """OpenVINO's name of ``precision``; a :class:`DeployError` for a
    name it does not take or bf16 on a CPU without bf16 support."""
    if precision not in PRECISIONS:
        raise DeployError(f'precision={precision!r}: OpenVINO runs '
                          f'{" or ".join(PRECISIONS)}.')
    if precision == 'bf16':
        caps = list(core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES'))
        if 'BF16' not in caps:
            raise DeployError(
                'precision bf16: this CPU has no bf16 support (OpenVINO '
                f'lists {", ".join(caps)}; it needs AVX512-BF16 or AMX); '
                'run fp32.')
    return PRECISIONS[precision]


def _metadata(model) -> Dict[str, str]:
    """The ONNX file's ``metadata_props`` (OpenVINO keeps them in the
    model's ``rt_info['framework']``)."""
    rt = model.get_rt_info()
    if 'framework' not in rt:
        return {}
    found = rt['framework']
    found = found.astype(dict) if hasattr(found, 'astype') else found
    return {str(k): (v.astype(str) if hasattr(v, 'astype') else str(v))
            for k, v in dict(found).items()}


class OvSession:
    """An OpenVINO model compiled for the CPU behind ONNX Runtime's
    ``get_inputs()`` / ``run(None, feed)``.

    Args:
        path: an ``.onnx`` file.
        precision: ``fp32`` (the exact default; OpenVINO's own default
            on a CPU with bf16 support is bf16, so it is set explicitly)
            or ``bf16``.
        threads: OpenVINO's inference threads (0: its default, all
            cores).
    """

    def __init__(self, path: str, precision: str = 'fp32',
                 threads: int = 0):
        self.precision = precision
        hint = check_precision(precision)
        model = read_onnx(path)
        self.meta = _metadata(model)
        config = {'PERFORMANCE_HINT': 'LATENCY',
                  'INFERENCE_PRECISION_HINT': hint}
        if threads:
            config['INFERENCE_NUM_THREADS'] = int(threads)
        self.compiled = core().compile_model(model, 'CPU', config)
        self._request = self.compiled.create_infer_request()
        self._inputs = [SimpleNamespace(name=i.get_any_name())
                        for i in self.compiled.inputs]
        self._outputs = list(self.compiled.outputs)

    @property
    def inference_precision(self) -> str:
        """What the compiled model computes in (``f32``, ``bf16``)."""
        return self.compiled.get_property(
            'INFERENCE_PRECISION_HINT').to_string()

    def get_inputs(self) -> List[SimpleNamespace]:
        return self._inputs

    def run(self, output_names: Optional[Sequence[str]],
            feed: Dict[str, np.ndarray]) -> List[np.ndarray]:
        """All outputs in the graph's order, as arrays of their own (the
        request's buffers are reused by the next run)."""
        if output_names is not None:
            raise ValueError('OvSession.run returns every output; give '
                             'None.')
        result = self._request.infer(feed)
        return [np.array(result[o]) for o in self._outputs]
