"""A runner hook for the distributed-training test: what each process
saw and holds (imported by the test's config through ``custom_imports``).

It turns off dropout (so that one process with batch 2 and two processes
with batch 1 compute the same arithmetic), records every iteration's loss
and prompts per process and saves each process's trainable weights at
the start and all its weights at the end.
"""
import json
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmglip.registry import HOOKS


@HOOKS.register_module(force=True)
class DistProbeHook(Hook):
    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        self.losses = []
        self.texts = []
        # what training must change: the trainable weights at the start
        self.start = {n: p.detach().clone()
                      for n, p in model.named_parameters() if p.requires_grad}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.losses.append({k: float(torch.as_tensor(v).detach())
                            for k, v in outputs.items()})
        self.texts.extend(s.metainfo['text']
                          for s in data_batch['data_samples'])

    def after_train(self, runner) -> None:
        rank = get_rank()
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        torch.save({k: v.detach().cpu() for k, v in
                    model.state_dict().items()},
                   osp.join(runner.work_dir, f'weights_rank{rank}.pth'))
        torch.save(self.start,
                   osp.join(runner.work_dir, f'start_rank{rank}.pth'))
        moved = sum(not torch.equal(p.detach(), self.start[n])
                    for n, p in model.named_parameters() if n in self.start)
        with open(osp.join(runner.work_dir, f'losses_rank{rank}.json'),
                  'w') as f:
            json.dump(dict(losses=self.losses, texts=self.texts,
                           trainable=len(self.start), moved=moved), f)
