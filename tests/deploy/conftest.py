import pytest

from ..models.conftest import tiny_bert  # noqa: F401 (the fixture)
from .tiny import build, save_weights


@pytest.fixture(scope='session')
def exports(tiny_bert, tmp_path_factory):  # noqa: F811 (the fixture)
    """``get(variant)``: (model, ONNX folder, weights file) of
    :func:`tests.deploy.tiny.build`, exported once per session (the ONNX
    Runtime and OpenVINO tests read the same folders; none changes them)."""
    from mmglip.deploy import export_onnx, weights_identity
    done = {}

    def get(variant):
        if variant not in done:
            root = tmp_path_factory.mktemp(variant)
            model = build(variant, tiny_bert)
            weights = save_weights(model, root / 'weights.pth')
            agreement = export_onnx(
                model, root / 'onnx', variant=variant,
                weights=weights_identity(weights), log=lambda msg: None)
            assert agreement.ok() and agreement.count > 0, str(agreement)
            done[variant] = (model, str(root / 'onnx'), weights)
        return done[variant]

    return get
