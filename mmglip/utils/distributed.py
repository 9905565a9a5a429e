"""Distributed runs on machines without CUDA (gloo), through MMEngine.

MMEngine 0.10.7 starts a ``--launcher pytorch`` run by calling
``torch.cuda.set_device`` (it fails on a CPU build of torch) and wraps the
model in DDP with ``device_ids=[LOCAL_RANK]`` (DDP refuses device ids for a
CPU module). Both are GPU assumptions, not distributed ones: on a machine
without CUDA this module starts the process group itself with the gloo
backend (MMEngine then sees it started and skips its own start) and gives
DDP no device ids. GPU runs are untouched: NCCL, as the config says.
"""
import os

from mmglip.errors import UserError, warn


def setup_cpu_distributed(cfg, launcher: str) -> bool:
    """Prepare ``cfg`` (and the process group) for a CPU-only distributed
    run; returns whether it did anything.

    Nothing happens for ``launcher='none'`` or when CUDA is available.

    Raises:
        UserError: a launcher other than ``pytorch`` on a machine without
            CUDA, or the torchrun environment variables are missing.
    """
    import torch
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise UserError(
            f'--launcher {launcher} on a machine without CUDA: CPU runs are '
            'started with torchrun (tools/dist_train.sh CONFIG N, '
            '--launcher pytorch, gloo backend).')
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise UserError(
            '--launcher pytorch needs the torchrun environment ('
            f'{", ".join(missing)} unset): start it with '
            'tools/dist_train.sh CONFIG N or python -m '
            'torch.distributed.run ... tools/train.py CONFIG --launcher '
            'pytorch.')
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {}) or {}
    backend = dist_cfg.get('backend', 'nccl')
    if backend != 'gloo':
        if int(os.environ['RANK']) == 0:
            warn(f'env_cfg.dist_cfg.backend={backend!r} needs GPUs; no CUDA '
                 'here, so the run uses gloo')
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = dict(cfg.get('model_wrapper_cfg', None) or
                   dict(type='MMDistributedDataParallel',
                        broadcast_buffers=False,
                        find_unused_parameters=cfg.get(
                            'find_unused_parameters', False)))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    return True


__all__ = ['setup_cpu_distributed']
