"""mmglip: GLIP (Grounded Language-Image Pre-training) on MMDetection 3.3.

The package's entry holds the start-up wiring (:func:`register_all_modules`):
it is the one place that imports every part, so no part below has to import
the others to get them registered.
"""
from .version import __version__


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmglip module into its registry and set the scope.

    Args:
        init_default_scope: make ``mmglip`` the current default scope, as
            mmdet's ``register_all_modules`` does for ``mmdet``.
    """
    import mmdet.models  # noqa: F401  (mmdet modules: Swin, FPN, ...)
    import mmdet.datasets  # noqa: F401
    import mmdet.evaluation  # noqa: F401
    import mmdet.engine  # noqa: F401
    import mmdet.visualization  # noqa: F401

    import mmglip.datasets  # noqa: F401
    import mmglip.evaluation  # noqa: F401
    import mmglip.models  # noqa: F401
    from mmglip.utils.checkpoints import patch_torch_load_for_mmengine
    from mmglip.weights.schemes import register_checkpoint_scheme
    patch_torch_load_for_mmengine()
    # load_from='mmglip://glip-t_c' resolves through the model zoo
    register_checkpoint_scheme()
    if init_default_scope:
        from mmengine.registry import DefaultScope
        if DefaultScope.get_current_instance() is None or \
                DefaultScope.get_current_instance().scope_name != 'mmglip':
            DefaultScope.get_instance(
                f'mmglip-{id(object())}', scope_name='mmglip')


__all__ = ['__version__', 'register_all_modules']
