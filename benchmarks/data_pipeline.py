"""The training data pipeline: mmdet's chain against ours, side by side
(``tools/benchmark.py --data-pipeline``).

On demo frames of the real size (KITTI 1242 x 375, Cityscapes 2048 x
1024; ``frame_size``), packed with ``write_pack``, the train pipeline
of ``configs/_base_/datasets/{dataset}.py`` (``config``) runs three ways:

- ``mmdet (PNG)``: the same augmentations as mmdet's transforms
  (``with_mmdet_transforms``, as
  ``configs/ablations/yolov3_kitti_mmdet_pipeline.py``), decoding the PNG
  files;
- ``mmdet (packed)``: the same, reading the packed cache;
- ``ours (packed)``: as the config says: the geometric steps as one
  ``RandomExpandCropResizeFlip``, the photometric draw as
  ``DeferredPhotoMetricDistortion`` (its pixel work moves to the data
  preprocessor, on the GPU when training there), no Pad (the
  preprocessor pads the batch), ``PackDetInputsChannelsLast``.

Reported: CPU time (``time.process_time`` of this one process: robust to
other load on the machine, unlike wall time) per image and per transform,
medians over passes, and images/s per core; the data preprocessors' CPU
time per image (mmdet's ``DetDataPreprocessor`` and ours with the
distortion, batch 8: the work a CPU-only training adds in the main
process); then the pipelines through a DataLoader with 1, 2 and N workers:
images/s of wall time, and per core (all CPU time of the main process and
the workers, including moving the batches between them; persistent
workers after a warm-up pass, as training runs them).
"""
import functools
import os
import os.path as osp
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import psutil
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate, worker_init_fn
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from yolo_plugin.datasets.packed import write_pack
from yolo_plugin.datasets.synthetic import (make_demo_cityscapes,
                                            make_demo_kitti)
from yolo_plugin.datasets.transforms.pipeline_variants import with_mmdet_transforms
from yolo_plugin.models.data_preprocessors import \
    PhotometricDetDataPreprocessor
from yolo_plugin.registry import DATASETS, MODELS

# Per data set: its config, dataset type, demo maker and real frame size.
DATASETS_OF = dict(
    kitti=dict(config='configs/_base_/datasets/kitti.py',
               type='KittiDataset', make=make_demo_kitti,
               size=(1242, 375)),
    cityscapes=dict(config='configs/_base_/datasets/cityscapes.py',
                    type='CityscapesGtFineDataset', make=make_demo_cityscapes,
                    size=(2048, 1024)))
BATCH_SIZE = 8
# configs/_base_/models/yolov3_d53.py's data preprocessor.
PREPROCESSOR = dict(mean=[0, 0, 0], std=[255., 255., 255.], bgr_to_rgb=True,
                    pad_size_divisor=32)


def make_pack(dataset: str, frames: int, size: Sequence[int], seed: int,
              work_dir: str) -> tuple:
    """(data root, pack file) of ``frames`` demo frames of ``size``
    (W, H) px."""
    root = DATASETS_OF[dataset]['make'](
        osp.join(work_dir, dataset), num_train=frames, num_val=0, seed=seed,
        size=tuple(size), overwrite=True)
    raw = build_dataset(dataset, root, pipeline=[])
    pack = write_pack(raw, osp.join(work_dir, f'{dataset}_train.pack'),
                      show_progress=False)
    return root, pack


def build_dataset(dataset: str, root: str, pipeline: Sequence[dict],
                  packed_file: str = None):
    return DATASETS.build(
        dict(type=DATASETS_OF[dataset]['type'], data_root=root,
             split='train', filter_cfg=dict(filter_empty_gt=False),
             pipeline=list(pipeline), packed_file=packed_file))


def time_transforms(dataset, passes: int, seed: int) -> Dict[str, float]:
    """Median over ``passes`` of the CPU ms per image of each transform
    of ``dataset``'s pipeline (and of reading the data info), plus
    ``total``."""
    per_pass = defaultdict(list)
    transforms = dataset.pipeline.transforms
    for _ in range(passes):
        np.random.seed(seed)
        spent = defaultdict(float)
        for index in range(len(dataset)):
            start = time.process_time()
            results = dataset.get_data_info(index)
            spent['data info'] += time.process_time() - start
            for transform in transforms:
                start = time.process_time()
                results = transform(results)
                spent[type(transform).__name__] += time.process_time() - start
        spent['total'] = sum(spent.values())
        for name, seconds in spent.items():
            per_pass[name].append(1000 * seconds / len(dataset))
    return {name: statistics.median(ms) for name, ms in per_pass.items()}


def time_preprocessor(preprocessor: Callable, batches: List[dict],
                      passes: int, training: bool) -> float:
    """Median CPU ms per image of ``preprocessor``."""
    per_pass = []
    for _ in range(passes):
        start = time.process_time()
        images = 0
        for batch in batches:
            preprocessor(dict(batch), training=training)
            images += len(batch['inputs'])
        per_pass.append(1000 * (time.process_time() - start) / images)
    return statistics.median(per_pass)


def packed_batches(dataset, seed: int) -> List[dict]:
    """The dataset's samples, once, as pseudo-collated batches."""
    np.random.seed(seed)
    samples = [dataset[index] for index in range(len(dataset))]
    return [pseudo_collate(samples[start:start + BATCH_SIZE])
            for start in range(0, len(samples), BATCH_SIZE)]


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its live children
    (the DataLoader's workers) so far."""
    process = psutil.Process()
    return sum(sum(p.cpu_times()[:2])
               for p in [process] + process.children(recursive=True))


def time_loader(dataset, workers: int, passes: int, seed: int) -> dict:
    """Images/s (wall) and images/s per core (all CPU time of the main
    process and the workers) of ``passes`` passes over ``dataset``
    through a DataLoader with ``workers`` persistent workers, batch 8, in
    the steady state: after an untimed pass that starts the workers."""
    loader = DataLoader(
        dataset, batch_size=BATCH_SIZE, shuffle=False, num_workers=workers,
        persistent_workers=True, collate_fn=pseudo_collate,
        worker_init_fn=functools.partial(
            worker_init_fn, num_workers=workers, rank=0, seed=seed))
    for _ in loader:
        pass
    cpu_start = cpu_seconds()
    wall_start = time.perf_counter()
    for _ in range(passes):
        for _ in loader:
            pass
    wall = time.perf_counter() - wall_start
    cpu = cpu_seconds() - cpu_start
    del loader  # ends the workers
    images = len(dataset) * passes
    return dict(images_per_s=images / wall,
                images_per_s_per_core=images / cpu,
                cpu_ms_per_image=1000 * cpu / images)


def format_transform_table(times: Dict[str, Dict[str, float]]) -> str:
    """Markdown table: one row per transform, one column per pipeline."""
    names = list(times)
    rows = []
    for timing in times.values():
        rows += [step for step in timing if step not in rows]
    rows.remove('total')
    lines = ['| CPU ms / image | ' + ' | '.join(names) + ' |',
             '|---|' + '---:|' * len(names)]
    for step in rows:
        cells = [f'{times[n][step]:.2f}' if step in times[n] else ''
                 for n in names]
        lines.append(f'| {step} | ' + ' | '.join(cells) + ' |')
    lines.append('| **total** | ' + ' | '.join(
        f'**{times[n]["total"]:.2f}**' for n in names) + ' |')
    lines.append('| images / s per core | ' + ' | '.join(
        f'{1000 / times[n]["total"]:.0f}' for n in names) + ' |')
    return '\n'.join(lines)


@dataclass
class PipelineSettings:
    """What one run of :func:`run_pipeline_benchmark` measures.

    Args:
        dataset: ``'kitti'`` or ``'cityscapes'``.
        config: the config whose ``train_pipeline`` (ours) is timed;
            None: the data set's base config.
        frame_size: (W, H) px of the demo frames; None: the data set's.
        frames: demo frames packed and timed.
        passes: timed passes over the frames (medians reported).
        workers: DataLoader worker counts of the loader rows (empty: none).
        loader_passes: passes over the frames of each DataLoader run.
        seed: of the demo frames and the augmentations.
    """
    dataset: str = 'kitti'
    config: Optional[str] = None
    frame_size: Optional[Tuple[int, int]] = None
    frames: int = 32
    passes: int = 5
    workers: Sequence[int] = (1, 2)
    loader_passes: int = 3
    seed: int = 0


def run_pipeline_benchmark(settings: PipelineSettings,
                           log: Callable[[str], None] = print) -> dict:
    """Per-transform CPU ms, the data preprocessors' CPU ms and the
    DataLoader rows of mmdet's pipeline and ours (module docstring), as a
    json-able dict (:func:`format_pipeline_report` prints it)."""
    init_default_scope('yolo_plugin')
    # One thread per process: OpenCV as mmengine's runner sets it up, and
    # torch, whose idle OpenMP threads spin and so would count as CPU time.
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    config = settings.config or DATASETS_OF[settings.dataset]['config']
    cfg = Config.fromfile(config)
    frame_size = tuple(settings.frame_size or
                       DATASETS_OF[settings.dataset]['size'])
    pipelines = {
        'mmdet (PNG)': with_mmdet_transforms(cfg.train_pipeline, PREPROCESSOR['pad_size_divisor']),
        'mmdet (packed)': with_mmdet_transforms(cfg.train_pipeline, PREPROCESSOR['pad_size_divisor']),
        'ours (packed)': cfg.train_pipeline,
    }
    results = dict(
        dataset=settings.dataset, config=config, frames=settings.frames,
        frame_size=frame_size, passes=settings.passes,
        pipelines={name: [step['type'] for step in pipeline]
                   for name, pipeline in pipelines.items()},
        load_average_before=os.getloadavg())
    with tempfile.TemporaryDirectory(prefix='yolo_pipeline_') as work_dir:
        log(f'packing {settings.frames} demo {settings.dataset} frames')
        root, pack = make_pack(settings.dataset, settings.frames, frame_size,
                               settings.seed, work_dir)
        datasets = {
            name: build_dataset(settings.dataset, root, pipeline,
                                None if 'PNG' in name else pack)
            for name, pipeline in pipelines.items()
        }
        log('transforms, one process')
        results['transforms'] = {
            name: time_transforms(dataset, settings.passes, settings.seed)
            for name, dataset in datasets.items()}
        log('data preprocessors')
        results['preprocessors'] = time_preprocessors(
            datasets['mmdet (packed)'], datasets['ours (packed)'], settings)
        results['loaders'] = {}
        for name in ('mmdet (packed)', 'ours (packed)'):
            for workers in settings.workers:
                log(f'{name}: DataLoader, {workers} workers')
                results['loaders'].setdefault(name, {})[workers] = time_loader(
                    datasets[name], workers, settings.loader_passes,
                    settings.seed)
    results['load_average_after'] = os.getloadavg()
    return results


def time_preprocessors(mmdet_dataset, our_dataset,
                       settings: PipelineSettings) -> Dict[str, float]:
    """CPU ms per image of mmdet's ``DetDataPreprocessor`` on its
    pipeline's batches and of ours on our batches, in training (ours:
    the photometric distortion on the CPU) and at test time."""
    mmdet_preprocessor = MODELS.build(
        dict(PREPROCESSOR, type='DetDataPreprocessor'))
    our_preprocessor = PhotometricDetDataPreprocessor(**PREPROCESSOR)
    mmdet_batches = packed_batches(mmdet_dataset, settings.seed)
    our_batches = packed_batches(our_dataset, settings.seed)
    return {
        'mmdet': time_preprocessor(mmdet_preprocessor, mmdet_batches,
                                   settings.passes, True),
        'ours, distortion on the CPU': time_preprocessor(
            our_preprocessor, our_batches, settings.passes, True),
        'ours, no distortion': time_preprocessor(
            our_preprocessor, our_batches, settings.passes, False),
    }


def format_pipeline_report(results: dict) -> str:
    """The per-transform table, the CPU-only training totals (pipeline +
    data preprocessor), the speed-ups and the DataLoader rows."""
    transforms = results['transforms']
    pre = results['preprocessors']
    theirs = transforms['mmdet (packed)']['total']
    ours = transforms['ours (packed)']['total']
    theirs_cpu = theirs + pre['mmdet']
    ours_cpu = ours + pre['ours, distortion on the CPU']
    width, height = results['frame_size']
    lines = [
        f"{results['config']} on {results['frames']} {results['dataset']} "
        f'frames of {width} x {height}, one process, CPU time, median of '
        f"{results['passes']} passes", '',
        format_transform_table(transforms), '',
        f'data preprocessor, batch {BATCH_SIZE}, one thread, CPU ms / image: '
        + ', '.join(f'{name} {ms:.2f}' for name, ms in pre.items()), '',
        f'training on a GPU (distortion there): ours {1000 / ours:.0f} '
        f'images/s per core, mmdet {1000 / theirs:.0f}: {theirs / ours:.2f}x',
        'training on the CPU (pipeline + data preprocessor): ours '
        f'{1000 / ours_cpu:.0f} images/s per core, mmdet '
        f'{1000 / theirs_cpu:.0f}: {theirs_cpu / ours_cpu:.2f}x', '',
        f'DataLoader, batch {BATCH_SIZE}: images/s (wall), and per core '
        '(CPU time of all processes)'
    ]
    for name, runs in results['loaders'].items():
        for workers, run in runs.items():
            lines.append(
                f'  {name}, {workers} workers: {run["images_per_s"]:.0f} '
                f'images/s, {run["images_per_s_per_core"]:.0f} per core '
                f'({run["cpu_ms_per_image"]:.2f} CPU ms / image)')
    lines.append('load average before / after: '
                 f"{results['load_average_before']} / "
                 f"{results['load_average_after']}")
    return '\n'.join(lines)
