"""Curves from mmengine's json logs (``work_dir/<timestamp>/vis_data/
scalars.json`` or ``<timestamp>.json``): one json object a line, training
lines (with ``iter``) every logging interval, validation lines (without)
after each evaluation, ``step`` being the epoch there."""
import glob
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from matplotlib.figure import Figure

Series = Tuple[List[float], List[float]]  # (steps, values)


@dataclass
class JsonLog:
    """Scalars of one json log: training ones by iteration, validation ones
    by epoch."""
    path: str
    train: Dict[str, Series] = field(default_factory=dict)
    val: Dict[str, Series] = field(default_factory=dict)

    def series(self, key: str) -> Tuple[str, Series]:
        """``('train', series)`` or ``('val', series)`` of ``key`` (training
        first).

        Raises:
            KeyError: naming the log and the keys it has.
        """
        for mode, scalars in (('train', self.train), ('val', self.val)):
            if key in scalars:
                return mode, scalars[key]
        raise KeyError(f'{self.path}: no key {key!r}; training keys: {sorted(self.train)}, '
                       f'validation keys: {sorted(self.val)}')


def load_json_log(path: str) -> JsonLog:
    """Read an mmengine json log.

    Raises:
        ValueError: naming the file and line of a line that is not json.
    """
    log = JsonLog(path)
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f'{path}:{line_no}: not a json line ({error})') from error
            train = 'iter' in record
            step = record['iter'] if train else record.get('step', record.get('epoch'))
            target = log.train if train else log.val
            for key, value in record.items():
                if key in ('iter', 'epoch', 'step') or not isinstance(value, (int, float)):
                    continue
                steps, values = target.setdefault(key, ([], []))
                steps.append(step)
                values.append(value)
    return log


def json_logs_of(work_dir: str) -> List[str]:
    """The json logs of a work dir's runs, ``<timestamp>/vis_data/
    scalars.json``, oldest first (by modification time).

    Raises:
        FileNotFoundError: when there is none.
    """
    candidates = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    if not candidates:
        raise FileNotFoundError(f'no json log (<timestamp>/vis_data/scalars.json) '
                                f'under {work_dir}')
    return sorted(candidates, key=osp.getmtime)


def find_json_log(work_dir: str) -> str:
    """The json log of a work dir's latest run (see :func:`json_logs_of`)."""
    return json_logs_of(work_dir)[-1]


def load_work_dir_log(work_dir: str) -> JsonLog:
    """The whole history of a work dir's training: the json logs of its runs
    (each resumed run writes a log of its own) joined oldest first. Where a
    run starts at a step an earlier one had already logged (a run killed
    after its last checkpoint, resumed from that checkpoint), the later
    run's values replace the earlier ones from that step on."""
    history = JsonLog(work_dir)
    for log in map(load_json_log, json_logs_of(work_dir)):
        for joined, scalars in ((history.train, log.train), (history.val, log.val)):
            for key, (steps, values) in scalars.items():
                old_steps, old_values = joined.get(key, ([], []))
                # A key has a series only once a value was logged: steps[0] exists.
                kept = sum(1 for step in old_steps if step < steps[0])
                joined[key] = (old_steps[:kept] + steps, old_values[:kept] + values)
    return history


def plot_curves(logs: Sequence[JsonLog], keys: Sequence[str], out_file: str,
                title: str = '') -> str:
    """One panel a key (x: iteration for training keys, epoch for validation
    ones), one line a log; saved to ``out_file`` (PNG, PDF, ... by suffix).

    Raises:
        KeyError: for a key missing from a log.
    """
    if not keys:
        raise ValueError('plot_curves: give at least one key')
    fig = Figure(figsize=(8, 2.6 * len(keys)))
    axes = fig.subplots(len(keys), 1, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        for log in logs:
            mode, (steps, values) = log.series(key)
            label = osp.basename(log.path) if len(logs) > 1 else key
            ax.plot(steps, values, marker='o' if mode == 'val' else None, markersize=3,
                    label=label)
            ax.set_xlabel('epoch' if mode == 'val' else 'iteration')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(loc='best', fontsize='small')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=100)
    return out_file
