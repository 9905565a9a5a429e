"""A hook that kills its own process once, at a known point: after the
epoch checkpoint of a given epoch is written (the kill-and-resume test of
tests/benchmark/test_fewshot_benchmark.py imports it through its schedule's
``custom_imports``). It fires only while its flag file exists and deletes
it first, so a later call with the same schedule (the same record in
benchmark.json) runs to the end. No timing: the kill comes at exactly
that point on any machine."""
import os
import signal

from mmengine.hooks import Hook

from mmglip.registry import HOOKS


@HOOKS.register_module()
class KillOnceAfterEpoch(Hook):
    """SIGKILL the process after ``epoch``'s checkpoint, once."""
    # after mmengine's CheckpointHook (VERY_LOW) has saved the epoch
    priority = 'LOWEST'

    def __init__(self, epoch: int, flag_file: str):
        self.epoch = epoch
        self.flag_file = flag_file

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch and os.path.exists(self.flag_file):
            os.remove(self.flag_file)
            os.kill(os.getpid(), signal.SIGKILL)
