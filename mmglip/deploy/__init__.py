"""GLIP outside PyTorch: ONNX export (:func:`export_onnx`) and the ONNX
Runtime / OpenVINO backends (:class:`OrtGLIP`, :func:`load_onnx_model`).

``onnx``, ``onnxruntime`` and ``openvino`` are optional (``pip install -e
.[deploy]``); importing this package does not need them, using it does.
"""
from .agreement import Agreement, compare
from .errors import INSTALL_HINT, DeployError
from .export import export_onnx
from .metadata import (check_same_model, model_fingerprint, variant_name,
                       weights_identity)
from .runtime import (BACKENDS, OrtGLIP, check_backend_args,
                      load_onnx_model)

__all__ = [
    'Agreement', 'compare', 'DeployError', 'INSTALL_HINT', 'export_onnx',
    'check_same_model', 'model_fingerprint', 'variant_name',
    'weights_identity', 'BACKENDS', 'OrtGLIP', 'check_backend_args',
    'load_onnx_model'
]
