"""Process-wide set-up: registries and the torch >= 2.6 checkpoint fix."""
import functools


def patch_torch_load_for_mmengine() -> None:
    """Let mmengine 0.10.7 load its own checkpoints on torch >= 2.6.

    mmengine calls ``torch.load(f, map_location=...)`` without
    ``weights_only``. From torch 2.6 that defaults to ``True`` and refuses the
    numpy / mmengine objects an mmengine checkpoint holds (message_hub, meta),
    so ``--resume`` fails with an UnpicklingError. mmglip only loads files the
    user points it at (their own work dirs, zoo files they chose), so within
    mmengine's checkpoint loader we restore the pre-2.6 default. Calls that
    pass ``weights_only`` explicitly are left alone.
    """
    import torch
    from mmengine.runner import checkpoint as mme_ckpt
    if getattr(mme_ckpt.torch.load, '_mmglip_patched', False):
        return
    original = torch.load

    @functools.wraps(original)
    def load(*args, **kwargs):
        kwargs.setdefault('weights_only', False)
        return original(*args, **kwargs)

    load._mmglip_patched = True

    class _TorchProxy:
        """``torch`` as seen by mmengine.runner.checkpoint, with ``load``
        defaulting to ``weights_only=False``."""

        def __getattr__(self, name):
            return load if name == 'load' else getattr(torch, name)

    mme_ckpt.torch = _TorchProxy()


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
    from mmglip.zoo.weights import register_checkpoint_scheme
    patch_torch_load_for_mmengine()
    # load_from='mmglip://glip-t_c' resolves through the model zoo
    register_checkpoint_scheme()
    if init_default_scope:
        from mmengine.registry import DefaultScope
        if DefaultScope.get_current_instance() is None or \
                DefaultScope.get_current_instance().scope_name != 'mmglip':
            DefaultScope.get_instance(
                f'mmglip-{id(object())}', scope_name='mmglip')
