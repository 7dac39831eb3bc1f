"""Hooks that the exact-resume test loads through ``custom_imports``: one
records every iteration's losses at full precision, one kills the training
process with SIGKILL after a given iteration."""
import json
import os
import signal

from yolo_plugin.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class LossRecorderHook(Hook):
    """Appends ``{"iter": i, "loss_x": value, ...}`` (1-based iteration)
    to the json-lines file ``out`` after every training iteration."""

    def __init__(self, out: str) -> None:
        self.out = out

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        record = {'iter': runner.iter + 1}
        record.update({name: float(value) for name, value in outputs.items()})
        # One write a line, unbuffered: a SIGKILL right after loses nothing.
        with open(self.out, 'a') as f:
            f.write(json.dumps(record) + '\n')


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """Sends SIGKILL to its own process after iteration ``iteration``
    (1-based), as an out-of-memory killer or a pre-empted node would."""

    priority = 'LOWEST'

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)
