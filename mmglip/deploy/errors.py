"""One-line errors of the deploy package."""
from mmglip.utils.cli import UserError

INSTALL_HINT = 'pip install -e .[deploy]'


class DeployError(UserError):
    """An ONNX folder or export that cannot be used as asked; the message
    names the file / value and says what to do."""


def require(module: str):
    """Import ``onnx`` or ``onnxruntime``, or a :class:`DeployError` that
    says how to install it."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise DeployError(
            f'{module} is not installed; ONNX export and the ONNX Runtime '
            f'backend need onnx and onnxruntime: {INSTALL_HINT} (from the '
            'mmglip checkout), or pip install onnx onnxruntime.') from err
