"""The switch for inference-only shortcuts inside layers.

GLIP's predict turns it on when ``model.fast_inference`` is set; a layer
takes its shortcut only in eval mode with gradients off. Each shortcut
computes the same function as the plain layer (float rounding aside) and
is tested against it (tests/models/test_layers.py, test_fast_paths.py).
"""
import contextlib
import contextvars
from typing import Iterator

import torch
from torch import nn

_ON = contextvars.ContextVar('mmglip_fast_inference_ops', default=False)


@contextlib.contextmanager
def fast_inference_ops(enabled: bool = True) -> Iterator[None]:
    """Within this context, layers in eval mode without gradients take
    their inference shortcuts: the X-MHA folds its projections into the
    attention, DyHead's deformable convs on CPU gather their
    samples on every core (``deform_conv.py``)."""
    token = _ON.set(enabled)
    try:
        yield
    finally:
        _ON.reset(token)


def shortcut_allowed(module: nn.Module) -> bool:
    """True inside :func:`fast_inference_ops` for a module in eval mode
    with gradients off."""
    return _ON.get() and not module.training and \
        not torch.is_grad_enabled()
