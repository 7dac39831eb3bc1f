"""``make demo``: synthetic KITTI data, a small YOLOv3 trained on the CPU,
its evaluation with both metrics, a loss / mAP curve and annotated
predictions, in one command (``tools/demo.py``)."""
import json
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from mmengine.config import Config

from yolo_plugin.datasets.synthetic import MARKER_FILE, make_demo_kitti
from .config import load_config
from .inference import infer, load_detector
from .log_analysis import find_json_log, load_json_log, plot_curves
from .runner import build_runner
from .testing import setup_testing
from .training import run_training

DEMO_CONFIG = 'configs/yolov3_s_kitti_demo.py'
MAP_KEY = 'kitti/mAP_moderate'
TARGET_MAP = 50.0  # percent, as KittiMetric reports AP (the 0.5)
CURVE_KEYS = ('loss', 'loss_cls', 'loss_obj', MAP_KEY)


@dataclass
class DemoSettings:
    """What :func:`run_demo` does.

    Args:
        config: the demo config.
        data_root: the demo KITTI set; made when absent or made with other
            counts or seed.
        work_dir: checkpoints, logs, curves and predictions.
        num_train / num_val: demo frames of each split.
        seed: of the demo data.
        threads: torch threads; None keeps torch's default (one a core),
            the fastest on an idle machine. 1 can be faster where other
            processes keep the cores busy.
        num_predictions: validation images drawn with their detections.
        cfg_options: further config overrides (``--cfg-options``).
    """
    config: str = DEMO_CONFIG
    data_root: str = 'data/demo/kitti'
    work_dir: str = 'work_dirs/demo'
    num_train: int = 400
    num_val: int = 100
    seed: int = 0
    threads: Optional[int] = None
    num_predictions: int = 8
    cfg_options: Optional[dict] = None


@dataclass
class DemoResult:
    """Metrics of the best checkpoint on the demo val split, wall time and
    the files left in the work dir."""
    metrics: Dict[str, float]
    seconds: float
    files: Dict[str, str] = field(default_factory=dict)

    @property
    def target_met(self) -> bool:
        return self.metrics.get(MAP_KEY, 0.0) >= TARGET_MAP

    def summary(self) -> str:
        lines = ['Demo metrics (best checkpoint, demo val split):']
        lines += [f'  {key}: {value:.4f}' for key, value in sorted(self.metrics.items())
                  if isinstance(value, float)]
        verdict = 'reached' if self.target_met else 'NOT reached'
        lines.append(f'{MAP_KEY} = {self.metrics.get(MAP_KEY, float("nan")):.2f} %: target '
                     f'{TARGET_MAP:.0f} % {verdict}; wall time {self.seconds / 60:.1f} min')
        lines += [f'  {name}: {path}' for name, path in self.files.items()]
        return '\n'.join(lines)


def ensure_demo_data(root: str, num_train: int, num_val: int, seed: int) -> bool:
    """Make the demo KITTI set at ``root`` unless it is there with these
    counts and seed. Returns True when it was made."""
    marker = osp.join(root, MARKER_FILE)
    if osp.isfile(marker):
        with open(marker) as f:
            info = json.load(f)
        if (info.get('num_train'), info.get('num_val'), info.get('seed')) == (
                num_train, num_val, seed):
            return False
    make_demo_kitti(root, num_train=num_train, num_val=num_val, seed=seed, overwrite=True)
    return True


def demo_config(settings: DemoSettings) -> Config:
    """The demo config reading ``settings.data_root``, writing to
    ``settings.work_dir``."""
    cfg = load_config(settings.config, settings.cfg_options)
    data_root = osp.join(settings.data_root, '')
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data_root
    cfg.work_dir = settings.work_dir
    cfg.launcher = 'none'
    return cfg


def val_images(root: str, count: int) -> List[str]:
    """The first ``count`` images of the demo val split."""
    with open(osp.join(root, 'ImageSets', 'val.txt')) as f:
        frames = [line.strip() for line in f if line.strip()]
    return [osp.join(root, 'training', 'image_2', f'{frame}.png') for frame in frames[:count]]


def run_demo(settings: DemoSettings) -> DemoResult:
    """Make the data if needed, train, test the best checkpoint with the
    config's metrics, plot the curves and draw predictions (with
    ``settings.threads`` torch threads, restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads or threads)
    try:
        return _run_demo(settings)
    finally:
        torch.set_num_threads(threads)


def _run_demo(settings: DemoSettings) -> DemoResult:
    start = time.perf_counter()
    ensure_demo_data(settings.data_root, settings.num_train, settings.num_val, settings.seed)
    runner = run_training(build_runner(demo_config(settings)))
    checkpoint = runner.message_hub.get_info('best_ckpt') or osp.join(
        settings.work_dir, f'epoch_{runner.epoch}.pth')
    train_log = find_json_log(settings.work_dir)

    metrics = build_runner(setup_testing(demo_config(settings), checkpoint)).test()

    files = dict(checkpoint=checkpoint, log=train_log)
    files['curves'] = plot_curves([load_json_log(train_log)], CURVE_KEYS,
                                  osp.join(settings.work_dir, 'curves.png'),
                                  title='yolov3_s_kitti_demo')
    model = load_detector(settings.config, checkpoint, cfg_options=settings.cfg_options)
    predictions = osp.join(settings.work_dir, 'predictions')
    infer(model, val_images(settings.data_root, settings.num_predictions), predictions)
    files['predictions'] = predictions
    return DemoResult(metrics, time.perf_counter() - start, files)
