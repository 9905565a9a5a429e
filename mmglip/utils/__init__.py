from .setup_env import patch_torch_load_for_mmengine, register_all_modules

__all__ = ['register_all_modules', 'patch_torch_load_for_mmengine']
