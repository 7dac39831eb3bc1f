"""Inference time of a deployed detector on the CPU: our PyTorch model (as
``tools/infer.py`` loads it: eval, conv + BN fused), the exported graph on
ONNX Runtime in fp32 and int8, and mmdet's YOLOv3 with the same weights,
at batch 1 and 8 (``python tools/benchmark.py --deploy``; the figures are in
BENCHMARKS.md and docs/deployment.md).

Every call starts from the same uint8 batch and ends with the detections:
PyTorch runs ``test_step`` (normalisation, network, decode, NMS), ONNX
Runtime the graph on the batch as float32 (normalisation and NMS inside).
The calls take turns (:func:`benchmarks.profiling.time_in_turns`) with the
same thread count, so that a busy machine slows each alike.
"""
import os
import os.path as osp
import statistics
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures import DetDataSample

from yolo_plugin.apis import build_detector, load_config, load_detector
from yolo_plugin.deploy.export import export_onnx
from yolo_plugin.deploy.quantize import quantize_int8, training_images
from yolo_plugin.deploy.onnx_runner import ONNXDetector, to_input
from .profiling import conv_flops, matmul_rate, time_in_turns
from .yolov3_vs_mmdet import BenchmarkSettings, build_models, quiet_mmengine

BACKENDS = ('pytorch', 'ort_fp32', 'ort_int8', 'mmdet')
BACKEND_NAMES = dict(pytorch='PyTorch (ours)', ort_fp32='ORT fp32', ort_int8='ORT int8',
                     mmdet='mmdet')
# Targets of issue 19: time / our PyTorch time at batch 1.
TARGETS = dict(ort_fp32=0.7, ort_int8=0.5)
# The demo data (tools/make_demo_data.py) calibrates the int8 models.
CALIBRATION_CONFIG = 'configs/yolov3_s_kitti_demo.py'


@dataclass(frozen=True)
class DeployModel:
    """A model the benchmark deploys.

    Attributes:
        config: its config (model, test pipeline, ``test_cfg``).
        img_size: ``(H, W)`` input, pixels.
        mmdet: also time mmdet's YOLOv3 with its weights (needs the full
            depth: mmdet's Darknet has no depth factor); the weights are
            then mmdet-initialised ones shared by both, whose scores fill
            ``nms_pre`` in every image (the heaviest NMS load).
    """
    config: str
    img_size: Tuple[int, int]
    mmdet: bool


MODELS_TO_DEPLOY = {
    # the demo model (a quarter of the width, a third of the depth) at its
    # 416 x 128 input
    'demo': DeployModel('configs/yolov3_s_kitti_demo.py', (128, 416), mmdet=False),
    # the full YOLOv3 with KITTI's 3 classes, at the 320 x 320 input of the
    # other inference rows of BENCHMARKS.md
    'full': DeployModel('configs/yolov3_kitti.py', (320, 320), mmdet=True),
}


@dataclass
class DeploySettings:
    """What one run measures.

    Args:
        models: keys of ``MODELS_TO_DEPLOY``.
        batch_sizes: images a batch.
        warmup, repeats: untimed and timed runs of each call (rows report
            the median and the minimum).
        threads: intra-op thread counts, each timed for every model and
            batch size (torch and ONNX Runtime alike).
        calib_images: demo training images calibrating the int8 models.
        demo_checkpoint: weights of the demo model (default random ones).
        work_dir: where the checkpoints and ONNX files go (default a
            temporary folder).
        seed: of the weights and the batch.
    """
    models: Sequence[str] = ('demo', 'full')
    batch_sizes: Sequence[int] = (1, 8)
    warmup: int = 1
    repeats: int = 5
    threads: Sequence[int] = tuple(sorted({1, os.cpu_count() or 1}))
    calib_images: int = 16
    demo_checkpoint: Optional[str] = None
    work_dir: Optional[str] = None
    seed: int = 0


def prepare_weights(name: str, model: DeployModel, settings: DeploySettings,
                    work_dir: str) -> Tuple[str, Optional[torch.nn.Module]]:
    """``(checkpoint, mmdet model or None)`` of a model to deploy."""
    if name == 'demo' and settings.demo_checkpoint:
        return settings.demo_checkpoint, None
    checkpoint = osp.join(work_dir, f'{name}.pth')
    mmdet_model = None
    if model.mmdet:
        ours, mmdet_model = build_models(BenchmarkSettings(
            img_size=max(model.img_size), num_classes=3, model_config=model.config,
            seed=settings.seed))
        mmdet_model.eval()
    else:
        torch.manual_seed(settings.seed)
        with quiet_mmengine():
            ours = build_detector(load_config(model.config))
        ours.init_weights()
    torch.save(dict(state_dict=ours.state_dict()), checkpoint)
    return checkpoint, mmdet_model


def synthetic_images(batch_size: int, img_size: Tuple[int, int], seed: int) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 BGR noise, smoothed like natural images."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (batch_size, img_size[0] // 8, img_size[1] // 8, 3))
    return coarse.repeat(8, 1).repeat(8, 2).astype(np.uint8)


def torch_batch(images: np.ndarray) -> dict:
    """``images`` as the test dataloader hands them to ``test_step``."""
    shape = images.shape[1:3]
    return dict(inputs=[torch.from_numpy(image).permute(2, 0, 1) for image in images],
                data_samples=[DetDataSample(metainfo=dict(
                    img_shape=shape, ori_shape=shape, pad_shape=shape, scale_factor=(1.0, 1.0)))
                    for _ in images])


def deploy_calls(pytorch_model: torch.nn.Module, onnx_files: Dict[str, str],
                 mmdet_model: Optional[torch.nn.Module], images: np.ndarray,
                 threads: int) -> Dict[str, Callable[[], object]]:
    """One call a backend, each detecting objects in ``images``."""
    batch = torch_batch(images)

    def test_step(model):
        def call():
            with torch.no_grad():
                return model.test_step(batch)
        return call

    calls = dict(pytorch=test_step(pytorch_model))
    for backend, onnx_file in onnx_files.items():
        detector = ONNXDetector(onnx_file, num_threads=threads, batch_size=len(images))
        calls[backend] = (lambda session, name: lambda: session.run(
            None, {name: to_input(images)}))(detector.session, detector.input_name)
    if mmdet_model is not None:
        calls['mmdet'] = test_step(mmdet_model)
    return calls


def run_deploy_benchmark(settings: DeploySettings, log: Callable[[str], None]) -> List[dict]:
    """One row a model, thread count and batch size: ``model``,
    ``img_size``, ``threads``, ``batch``, ``conv_gflop`` (the convolutions'
    arithmetic a batch), ``matmul_gflops`` (this CPU's fp32 matrix
    product on those threads, :func:`matmul_rate`) and per backend
    ``{backend: dict(median_ms, min_ms)}`` a batch."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = settings.work_dir or tmp
        calibration = training_images(CALIBRATION_CONFIG, settings.calib_images)
        for name in settings.models:
            model = MODELS_TO_DEPLOY[name]
            log(f'{name}: weights, export and int8 calibration on {len(calibration)} images')
            checkpoint, mmdet_model = prepare_weights(name, model, settings, work_dir)
            with quiet_mmengine():
                pytorch_model = load_detector(model.config, checkpoint)
            fp32 = export_onnx(model.config, checkpoint, osp.join(work_dir, f'{name}.onnx'),
                               img_size=model.img_size, dynamic_batch=True)
            int8 = quantize_int8(fp32, osp.join(work_dir, f'{name}.int8.onnx'), calibration)
            image_flops = conv_flops(pytorch_model, torch.zeros(1, 3, *model.img_size))
            for threads in settings.threads:
                torch.set_num_threads(threads)
                matmul = matmul_rate(threads)
                for batch_size in settings.batch_sizes:
                    log(f'{name}: {threads} thread(s), batch {batch_size}')
                    images = synthetic_images(batch_size, model.img_size, settings.seed)
                    calls = deploy_calls(pytorch_model, dict(ort_fp32=fp32, ort_int8=int8),
                                         mmdet_model, images, threads)
                    times = time_in_turns(calls, settings.warmup, settings.repeats,
                                          torch.device('cpu'))
                    rows.append(dict(
                        model=name, img_size=list(model.img_size), threads=threads,
                        batch=batch_size, conv_gflop=batch_size * image_flops / 1e9,
                        matmul_gflops=matmul / 1e9,
                        times={backend: dict(median_ms=1e3 * statistics.median(seconds),
                                             min_ms=1e3 * min(seconds))
                               for backend, seconds in times.items()}))
    return rows


def format_deploy_report(rows: List[dict]) -> str:
    """Markdown: a table of the median ms a batch (minimum) with each
    backend's ratios to our PyTorch median and minimum; a table of the rate
    at which each backend does the convolutions' arithmetic, against this
    CPU's matrix-product rate; the targets at batch 1, with the fp32 floor
    (the convolutions at that rate) as a ratio to our PyTorch time."""
    def key_cells(row: dict) -> List[str]:
        return [row['model'], f'{row["img_size"][1]} x {row["img_size"][0]}',
                str(row['threads']), str(row['batch'])]

    def table(header: List[str], body: List[List[str]]) -> List[str]:
        return ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] + [
            '| ' + ' | '.join(cells) + ' |' for cells in body]

    keys = ['model', 'input (W x H)', 'threads', 'batch']
    time_body, rate_body = [], []
    for row in rows:
        times, ours = row['times'], row['times']['pytorch']
        time_cells, rate_cells = key_cells(row), key_cells(row) + [
            f'{row["conv_gflop"]:.1f}', f'{row["matmul_gflops"]:.0f}']
        for backend in BACKENDS:
            if backend not in times:
                time_cells.append('n/a')
                rate_cells.append('n/a')
                continue
            value = times[backend]
            cell = f'{value["median_ms"]:.0f} (min {value["min_ms"]:.0f})'
            if backend != 'pytorch':
                cell += (f' {value["median_ms"] / ours["median_ms"]:.2f}x '
                         f'(min {value["min_ms"] / ours["min_ms"]:.2f}x)')
            time_cells.append(cell)
            rate = row['conv_gflop'] / value['median_ms'] * 1e3
            rate_cells.append(f'{rate:.0f} ({rate / row["matmul_gflops"]:.0%})')
        time_body.append(time_cells)
        rate_body.append(rate_cells)
    lines = table(keys + [f'{BACKEND_NAMES[b]} ms' + ('' if b == 'pytorch' else ' (ratio)')
                          for b in BACKENDS], time_body)
    lines += ['', 'Convolution GFLOP/s (share of the matrix-product rate), from the median:', '']
    lines += table(keys + ['conv GFLOP a batch', 'matmul GFLOP/s']
                   + [BACKEND_NAMES[b] for b in BACKENDS], rate_body)
    targets = ', '.join(f'{BACKEND_NAMES[b]} <= {t}x' for b, t in TARGETS.items())
    lines.append(f'\nTargets at batch 1 (median time / our PyTorch median): {targets}.')
    for row in rows:
        if row['batch'] != 1:
            continue
        ours_ms = row['times']['pytorch']['median_ms']
        floor = row['conv_gflop'] / row['matmul_gflops'] * 1e3 / ours_ms
        lines.append(f'- {row["model"]}, {row["threads"]} thread(s): ' + ', '.join(
            f'{BACKEND_NAMES[b]} {ratio:.2f}x ({"met" if ratio <= t else "not met"})'
            for b, t in TARGETS.items()
            for ratio in [row['times'][b]['median_ms'] / ours_ms])
            + f'; fp32 floor {floor:.2f}x (the convolutions at the matmul rate)')
    return '\n'.join(lines)
