"""One graph through ``torch.onnx.export`` (the TorchScript tracer, opset
:data:`~mmglip.deploy.ops.OPSET`), quietly: the exporter's output is
captured, and an op it cannot write becomes one :class:`DeployError` line
naming the graph, the module that calls the op and the op (found in the
exporter's graph dump, which is not shown)."""
import contextlib
import os
import re
import sys
import tempfile
import warnings
from typing import Dict, Iterator, List

import torch

from .errors import DeployError
from .ops import OPSET


@contextlib.contextmanager
def _captured_output(sink) -> Iterator[None]:
    """The process's stdout / stderr (file descriptors 1, 2) into ``sink``:
    on a failure the exporter prints its whole graph there from C++."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def _module_of(module, log: str, op: str) -> str:
    """Where the first ``op`` node of the exporter's graph dump comes
    from: its TorchScript scope (``Class::name`` of the innermost module)
    matched against ``module``'s named modules (``bbox_head.scales.1
    (Zeta)``)."""
    for line in log.splitlines():
        if f'= {op}(' not in line or 'scope: ' not in line:
            continue
        scope = line.split('scope: ', 1)[1].split(' #', 1)[0].strip()
        cls, _, leaf = scope.rstrip('/').split('/')[-1].partition('::')
        cls = cls.rsplit('.', 1)[-1]
        for name, sub in module.named_modules():
            if type(sub).__name__ == cls and (
                    name == leaf or name.endswith('.' + leaf)):
                name = name[len('model.'):] if name.startswith(
                    'model.') else name
                return f'{name} ({cls})'
        return f'{leaf or "?"} ({cls})'
    return '?'


def export_graph(module, args, path: str, input_names: List[str],
                 output_names: List[str], dynamic_axes: Dict,
                 what: str) -> None:
    """torch.onnx.export; an op it cannot write is a DeployError naming
    the graph, the module and the op."""
    with tempfile.TemporaryFile('w+') as sink:
        try:
            with warnings.catch_warnings(), _captured_output(sink):
                # the tracer's notes on Python values it records as
                # constants (checked by the self-check at another size)
                warnings.simplefilter('ignore')
                torch.onnx.export(
                    module.eval(), args, path, dynamo=False,
                    opset_version=OPSET, input_names=input_names,
                    output_names=output_names, dynamic_axes=dynamic_axes,
                    do_constant_folding=True)
        except Exception as err:  # noqa: BLE001 - the exporter's types
            said = str(err).strip().splitlines()[0][:300] \
                if str(err).strip() else type(err).__name__
            found = re.search(r"operator '([\w:.]+)'", said)
            where = ''
            if found:
                sink.seek(0)
                op = found.group(1)
                where = (f' module {_module_of(module, sink.read(), op)}'
                         f' calls {op}, which has no ONNX '
                         f'opset {OPSET} export (the exporter said: '
                         f'{said}); mmglip exports only standard ops: '
                         'replace that layer for inference')
            raise DeployError(
                f'The {what} cannot be exported to ONNX opset {OPSET}:'
                f'{where or " " + said}.') from err
