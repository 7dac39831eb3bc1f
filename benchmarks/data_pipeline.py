"""The training data pipeline: mmdet's chain against ours, side by side.

    python benchmarks/data_pipeline.py                      # KITTI frames
    python benchmarks/data_pipeline.py --dataset cityscapes --frames 16
    python benchmarks/data_pipeline.py --frame-size 621 188 \
        --config configs/yolov3_s_kitti_demo.py             # make demo's
    python benchmarks/data_pipeline.py --out-json pipeline.json

On demo frames of the real size (KITTI 1242 x 375, Cityscapes 2048 x
1024; ``--frame-size``), packed with ``write_pack``, the train pipeline
of ``configs/_base_/datasets/{dataset}.py`` (``--config``), an mmdet
recipe, runs three ways:

- ``mmdet (PNG)``: as the config says, decoding the PNG files;
- ``mmdet (packed)``: the same, reading the packed cache;
- ``ours (packed)``: the same augmentations as our transforms
  (:func:`fused_pipeline`): the geometric steps as one
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
the workers, including moving the batches between them).
"""
import argparse
import functools
import json
import os
import os.path as osp
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Callable, Dict, List, Sequence

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate, worker_init_fn
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

import yolo_plugin.datasets.transforms.formatting  # noqa: F401
import yolo_plugin.datasets.transforms.geometric  # noqa: F401
from yolo_plugin.datasets.packed import write_pack
from yolo_plugin.datasets.synthetic import (make_demo_cityscapes,
                                            make_demo_kitti)
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
# mmdet's geometric steps and the argument of RandomExpandCropResizeFlip
# each becomes.
GEOMETRIC_STEPS = dict(Expand='expand', MinIoURandomCrop='min_iou_crop',
                       RandomResize='resize', RandomFlip='flip')
BATCH_SIZE = 8
# configs/_base_/models/yolov3_d53.py's data preprocessor.
PREPROCESSOR = dict(mean=[0, 0, 0], std=[255., 255., 255.], bgr_to_rgb=True,
                    pad_size_divisor=32)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dataset', choices=sorted(DATASETS_OF),
                        default='kitti')
    parser.add_argument('--config',
                        help="config whose train_pipeline is timed (default: "
                        "the data set's base config)")
    parser.add_argument('--frame-size', type=int, nargs=2,
                        metavar=('W', 'H'),
                        help="demo frame size (default: the data set's)")
    parser.add_argument('--frames', type=int, default=32,
                        help='demo frames packed and timed')
    parser.add_argument('--passes', type=int, default=5,
                        help='timed passes over the frames (median reported)')
    parser.add_argument('--workers', type=int, nargs='+',
                        default=sorted({1, 2, os.cpu_count()}),
                        help='DataLoader worker counts (0: skip)')
    parser.add_argument('--loader-passes', type=int, default=3,
                        help='passes over the frames of each DataLoader run')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', help='default: a temporary folder')
    parser.add_argument('--out-json', help='write the results here')
    return parser.parse_args()


def fused_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """The mmdet recipe ``pipeline`` with our transforms, the same
    settings: its Expand, MinIoURandomCrop, RandomResize and RandomFlip as
    one RandomExpandCropResizeFlip (where the first of them stood), its
    PhotoMetricDistortion as DeferredPhotoMetricDistortion, no Pad,
    PackDetInputsChannelsLast in place of PackDetInputs."""
    fused = dict(type='RandomExpandCropResizeFlip')
    steps = []
    for step in pipeline:
        step = dict(step)
        kind = step.pop('type')
        if kind in GEOMETRIC_STEPS:
            if len(fused) == 1:
                steps.append(fused)
            fused[GEOMETRIC_STEPS[kind]] = step
        elif kind == 'PhotoMetricDistortion':
            steps.append(dict(step, type='DeferredPhotoMetricDistortion'))
        elif kind == 'PackDetInputs':
            steps.append(dict(step, type='PackDetInputsChannelsLast'))
        elif kind != 'Pad':
            steps.append(dict(step, type=kind))
    return steps


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
    """User + system CPU seconds of this process and its finished,
    waited-for children (the DataLoader's workers)."""
    return sum(usage.ru_utime + usage.ru_stime for usage in (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN)))


def time_loader(dataset, workers: int, passes: int, seed: int) -> dict:
    """Images/s (wall) and images/s per core (all CPU time of the main
    process and the workers) of ``passes`` passes over ``dataset``
    through a DataLoader with ``workers`` workers, batch 8."""
    indices = list(range(len(dataset))) * passes
    loader = DataLoader(
        dataset, batch_size=BATCH_SIZE, sampler=indices,
        num_workers=workers, collate_fn=pseudo_collate,
        worker_init_fn=functools.partial(
            worker_init_fn, num_workers=workers, rank=0, seed=seed))
    cpu_start = cpu_seconds()
    wall_start = time.perf_counter()
    iterator = iter(loader)
    for _ in iterator:
        pass
    wall = time.perf_counter() - wall_start
    del iterator  # joins the workers, so that their CPU time counts
    cpu = cpu_seconds() - cpu_start
    return dict(images_per_s=len(indices) / wall,
                images_per_s_per_core=len(indices) / cpu,
                cpu_ms_per_image=1000 * cpu / len(indices))


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


def main() -> None:
    args = parse_args()
    init_default_scope('yolo_plugin')
    # One thread per process: OpenCV as mmengine's runner sets it up, and
    # torch, whose idle OpenMP threads spin and so would count as CPU time.
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    cfg = Config.fromfile(args.config or DATASETS_OF[args.dataset]['config'])
    frame_size = args.frame_size or DATASETS_OF[args.dataset]['size']
    pipelines = {
        'mmdet (PNG)': cfg.train_pipeline,
        'mmdet (packed)': cfg.train_pipeline,
        'ours (packed)': fused_pipeline(cfg.train_pipeline),
    }
    with tempfile.TemporaryDirectory() as scratch:
        work_dir = args.work_dir or scratch
        root, pack = make_pack(args.dataset, args.frames, frame_size,
                               args.seed, work_dir)
        datasets = {
            name: build_dataset(args.dataset, root, pipeline,
                                None if 'PNG' in name else pack)
            for name, pipeline in pipelines.items()
        }
        results = dict(
            dataset=args.dataset, config=cfg.filename, frames=args.frames,
            frame_size=frame_size,
            pipelines={name: [step['type'] for step in pipeline]
                       for name, pipeline in pipelines.items()},
            transforms={name: time_transforms(dataset, args.passes,
                                              args.seed)
                        for name, dataset in datasets.items()})
        print(f'{cfg.filename} on {args.frames} {args.dataset} frames of '
              f'{frame_size[0]} x {frame_size[1]}, one process, median of '
              f'{args.passes} passes\n')
        print(format_transform_table(results['transforms']))

        mmdet_preprocessor = MODELS.build(
            dict(PREPROCESSOR, type='DetDataPreprocessor'))
        our_preprocessor = PhotometricDetDataPreprocessor(**PREPROCESSOR)
        mmdet_batches = packed_batches(datasets['mmdet (packed)'], args.seed)
        our_batches = packed_batches(datasets['ours (packed)'], args.seed)
        preprocessors = {
            'mmdet DetDataPreprocessor (distorted float32 inputs)':
            (mmdet_preprocessor, mmdet_batches, True),
            'ours, distortion on the CPU':
            (our_preprocessor, our_batches, True),
            'ours, no distortion (as at test time)':
            (our_preprocessor, our_batches, False),
        }
        results['preprocessors'] = {
            name: time_preprocessor(preprocessor, batches, args.passes,
                                    training)
            for name, (preprocessor, batches, training)
            in preprocessors.items()}
        print(f'\ndata preprocessor, CPU, batch {BATCH_SIZE}, one thread:')
        for name, ms in results['preprocessors'].items():
            print(f'  {name}: {ms:.2f} CPU ms / image')

        results['loaders'] = {
            name: {workers: time_loader(datasets[name], workers,
                                        args.loader_passes, args.seed)
                   for workers in args.workers if workers > 0}
            for name in ('mmdet (packed)', 'ours (packed)')}
        print('\nDataLoader, batch 8: images / s (wall) and per core '
              '(CPU time of all processes)')
        for name, runs in results['loaders'].items():
            for workers, run in runs.items():
                print(f'  {name}, {workers} workers: '
                      f'{run["images_per_s"]:.0f} images/s, '
                      f'{run["images_per_s_per_core"]:.0f} per core '
                      f'({run["cpu_ms_per_image"]:.2f} CPU ms / image)')
    results['load_average'] = os.getloadavg()
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
