"""Our YOLOv3 against mmdet's, side by side (``tools/benchmark.py``).

Both models are built at the same depth, width, class count, input size
and batch; mmdet's from its own registry and its shipped YOLOv3 config,
ours from our model config. mmdet's model is initialised as its config
says and ours receives the same weights (module names mapped by
:func:`convert_mmdet_state_dict`), so both compute the same function on
the same synthetic batch (random images, ``objects_per_img`` random boxes
an image).

What each side runs:

- mmdet: its normal configuration: fp32, contiguous (NCHW) tensors, the
  optimizer wrapper of its config (SGD, gradient clipping), its head.
- ours: our recommended configuration: :class:`YOLODetector` with
  ``channels_last`` (and so the matrix-product weight gradients of the
  model config's :class:`GemmWeightGradConv2d` on CPUs without AVX-512),
  the same optimizer wrapper as mmdet's (fused SGD would copy every
  channels-last weight to a contiguous one each step), conv + BN fused at
  inference;
  mixed precision where :meth:`BenchmarkSettings.amp_recommended` says:
  AMP (autocast to ``amp_dtype``) on a GPU, bfloat16 training on a CPU
  with native bfloat16 (``BFloat16OptimWrapper``, what ``tools/train.py
  --amp`` selects there), fp32 otherwise. Further rows time the other
  precision (fp32 training; bfloat16 inference on the CPU, an opt-in);
  every variant's row carries the target, so both precisions are judged.

Timed calls take turns (see :func:`time_in_turns`); rows report medians.
On the CPU both models run under glibc's default allocator policy, or,
with ``keep_freed_memory``, under that of our CPU training
(:func:`keep_freed_memory_for_reuse`): it is process-wide, so it serves
both models alike.
"""
import copy
import logging
import os
import os.path as osp
import platform
import random
import statistics
import tempfile
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import mmcv
import mmdet
import mmengine
import numpy as np
import torch
from mmcv.cnn import ConvModule
from mmdet.models.backbones import Darknet
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import ConfigDict
from mmengine.hub import get_config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from torch.nn.modules.batchnorm import _BatchNorm

from yolo_plugin.apis import build_split_dataset, load_config, split_dataset_cfg
from yolo_plugin.apis.packing import pack_split
from yolo_plugin.converters import convert_mmdet_state_dict
from yolo_plugin.datasets.synthetic import make_demo_kitti
from yolo_plugin.datasets.transforms.pipeline_variants import with_mmdet_transforms
from yolo_plugin.engine import cpu_has_native_bfloat16
from yolo_plugin.models.utils import scale_channels
from yolo_plugin.registry import MODELS
from yolo_plugin.utils.host_memory import keep_freed_memory_for_reuse, return_freed_memory_to_os
from .profiling import peak_memory, time_in_turns, top_operators

MMDET_YOLOV3_CONFIG = 'mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py'
MODEL_CONFIG = 'configs/_base_/models/yolov3_d53.py'
DATA_CONFIG = 'configs/_base_/datasets/kitti.py'
KITTI_IMAGE_SIZE = (1242, 375)  # (W, H) of a KITTI frame, for the loading rows
AMP_DTYPES = ('bfloat16', 'float16')
MIB = 1 << 20
LOSS_MIN_REPEATS = 20  # the loss rows are cheap: more runs, a steadier median

# Issue 9's targets: cost ratios ours / mmdet on the CPU; images/s of ours
# on one H100 (training at batch 32, 416 px; inference at batch 64).
CPU_RATIO_TARGETS = {'loss': 0.1, 'train_step': 0.9, 'inference': 0.9}
CUDA_THROUGHPUT_TARGETS = {'train_step': 600.0, 'inference': 2000.0}


@dataclass
class BenchmarkSettings:
    """What one run measures.

    Args:
        batch_size: images a training batch (and a loss batch).
        infer_batch_size: images an inference batch; ``None``: batch_size.
        img_size: side of the square input, pixels (a multiple of 32).
        num_classes: ``K`` of both heads.
        objects_per_img: random ground-truth boxes an image.
        widen_factor: channel multiplier of both models (1.0: the full
            YOLOv3; smaller values give the tiny models of the tests).
        warmup: untimed runs of each call before the timed ones.
        repeats: timed runs of each call (rows report the median).
        device: ``'cpu'`` or ``'cuda'``.
        amp_dtype: autocast dtype of our mixed-precision rows:
            ``'bfloat16'``, ``'float16'`` (GPU only) or ``None`` (no such
            rows); the recommended rows use it where
            :meth:`amp_recommended` says.
        channels_last: our model in channels-last layout.
        fuse_conv_bn: fold BN into the convs for our inference.
        data_images: demo KITTI frames for the data-loading rows (0: skip).
        keep_freed_memory: on the CPU, time both models under the allocator
            policy of our CPU training (:func:`keep_freed_memory_for_reuse`)
            instead of glibc's default.
        model_config: our model config (its ``model`` is used).
        data_config: the dataset config of the data-loading rows.
        seed: of the weights and the synthetic batch.
    """
    batch_size: int = 8
    infer_batch_size: Optional[int] = None
    img_size: int = 320
    num_classes: int = 80
    objects_per_img: int = 12
    widen_factor: float = 1.0
    warmup: int = 1
    repeats: int = 5
    device: str = 'cpu'
    amp_dtype: Optional[str] = 'bfloat16'
    channels_last: bool = True
    fuse_conv_bn: bool = True
    data_images: int = 32
    keep_freed_memory: bool = False
    model_config: str = MODEL_CONFIG
    data_config: str = DATA_CONFIG
    seed: int = 0

    def __post_init__(self) -> None:
        if self.infer_batch_size is None:
            self.infer_batch_size = self.batch_size
        checks = [
            (self.batch_size >= 1 and self.infer_batch_size >= 1, 'batch sizes must be >= 1'),
            (self.img_size >= 32 and self.img_size % 32 == 0,
             'img_size must be a positive multiple of 32'),
            (self.num_classes >= 1, 'num_classes must be >= 1'),
            (self.objects_per_img >= 1, 'objects_per_img must be >= 1'),
            (self.widen_factor > 0, 'widen_factor must be > 0'),
            (self.warmup >= 0 and self.repeats >= 1, 'warmup must be >= 0, repeats >= 1'),
            (self.data_images >= 0, 'data_images must be >= 0'),
            (self.device in ('cpu', 'cuda'), "device must be 'cpu' or 'cuda'"),
            (self.device != 'cuda' or torch.cuda.is_available(), 'CUDA is not available'),
            (self.amp_dtype in (None, ) + AMP_DTYPES, f'amp_dtype must be one of {AMP_DTYPES} or None'),
            (self.device == 'cuda' or self.amp_dtype != 'float16',
             'float16 autocast needs a GPU; use bfloat16 on the CPU'),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f'BenchmarkSettings: {message} (got {self})')

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    def amp_recommended(self, kind: str) -> bool:
        """Whether our recommended configuration of ``kind`` (``'train'`` or
        ``'inference'``) runs mixed precision: on a GPU, both (mmengine's
        ``AmpOptimWrapper``); on a CPU with native bfloat16, training
        (``tools/train.py --amp``: as accurate as fp32 on the demo, see
        BENCHMARKS.md); fp32 otherwise (emulated bfloat16 is slower than
        fp32, and bfloat16 inference on the CPU changes which boxes survive
        NMS, so it stays an opt-in)."""
        if self.amp_dtype is None:
            return False
        if self.device == 'cuda':
            return True
        return kind == 'train' and self.amp_dtype == 'bfloat16' and cpu_has_native_bfloat16()


@dataclass
class Row:
    """One measured quantity of both models. ``ratio`` is ours / mmdet: for
    times and memory lower is better, for images/s higher."""
    key: str
    name: str
    unit: str
    ours: Optional[float]
    mmdet: Optional[float]
    target: str = ''
    met: Optional[bool] = None

    @property
    def ratio(self) -> Optional[float]:
        if self.ours is None or not self.mmdet:
            return None
        return self.ours / self.mmdet


@dataclass
class BenchmarkResult:
    """Rows, the detections' agreement, raw durations and where they were
    measured."""
    settings: dict
    environment: dict
    rows: List[Row]
    agreement: Dict[str, dict] = field(default_factory=dict)
    durations: Dict[str, Dict[str, List[float]]] = field(default_factory=dict)

    def to_json(self) -> dict:
        rows = [dict(asdict(row), ratio=row.ratio) for row in self.rows]
        return dict(settings=self.settings, environment=self.environment, rows=rows,
                    agreement=self.agreement, durations=self.durations)

    def format_table(self) -> str:
        """The rows as a Markdown table."""
        lines = ['| metric | unit | ours | mmdet | ours / mmdet | target | met |',
                 '|---|---|---:|---:|---:|---|---|']
        for row in self.rows:
            met = '' if row.met is None else ('yes' if row.met else 'NO')
            lines.append(f'| {row.name} | {row.unit} | {_fmt(row.ours)} | {_fmt(row.mmdet)} | '
                         f'{_fmt(row.ratio, ratio=True)} | {row.target} | {met} |')
        return '\n'.join(lines)


def _fmt(value: Optional[float], ratio: bool = False) -> str:
    if value is None:
        return 'n/a'
    if ratio:
        return f'{value:.3f}'
    return f'{value:.1f}' if abs(value) >= 10 else f'{value:.2f}'


# ---------------------------------------------------------------- models
class NarrowMMDetDarknet(Darknet):
    """mmdet's Darknet-53 with every width times ``widen_factor`` (stem
    included, rounded as our :func:`scale_channels`), for benchmark
    configurations smaller than the real model."""

    def __init__(self, widen_factor: float, **kwargs) -> None:
        blocks, widths = Darknet.arch_settings[53]
        widths = tuple((scale_channels(c_in, widen_factor), scale_channels(c_out, widen_factor))
                       for c_in, c_out in widths)
        # Darknet.__init__ reads the widths from this attribute.
        self.arch_settings = {53: (blocks, widths)}
        super().__init__(depth=53, **kwargs)
        stem = self.conv1
        self.conv1 = ConvModule(3, widths[0][0], 3, padding=1, conv_cfg=stem.conv_cfg,
                                norm_cfg=stem.norm_cfg, act_cfg=stem.act_cfg)


@contextmanager
def quiet_mmengine() -> Iterator[None]:
    """Hide mmengine's INFO lines (one a parameter in ``init_weights``)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def our_model_cfg(settings: BenchmarkSettings) -> ConfigDict:
    """Our model config (:class:`YOLODetector`) with the settings'
    ``channels_last``, width and class count."""
    cfg = load_config(settings.model_config).model
    cfg.channels_last = settings.channels_last
    for part in ('backbone', 'neck', 'bbox_head'):
        cfg[part].widen_factor = settings.widen_factor
    cfg.bbox_head.num_classes = settings.num_classes
    return cfg


def mmdet_model_cfg(settings: BenchmarkSettings, test_cfg: dict) -> ConfigDict:
    """mmdet's shipped YOLOv3 config, at the settings' width and class
    count, with our ``test_cfg`` thresholds (the same NMS work), without
    the pretrained backbone download (the weights are set by
    :func:`share_weights`)."""
    cfg = get_config(MMDET_YOLOV3_CONFIG).model
    cfg.backbone.pop('init_cfg', None)
    if settings.widen_factor != 1.0:
        cfg.backbone.type = NarrowMMDetDarknet
        cfg.backbone.widen_factor = settings.widen_factor
        cfg.backbone.pop('depth')
        for part, keys in (('neck', ('in_channels', 'out_channels')),
                           ('bbox_head', ('in_channels', 'out_channels'))):
            for key in keys:
                cfg[part][key] = [scale_channels(c, settings.widen_factor) for c in cfg[part][key]]
    cfg.bbox_head.num_classes = settings.num_classes
    cfg.test_cfg.update({key: test_cfg[key] for key in
                         ('nms_pre', 'score_thr', 'conf_thr', 'nms', 'max_per_img')})
    return cfg


def build_models(settings: BenchmarkSettings) -> Tuple[torch.nn.Module, torch.nn.Module]:
    """(ours, mmdet's) on the settings' device, with the same weights."""
    torch.manual_seed(settings.seed)
    our_cfg = our_model_cfg(settings)
    with quiet_mmengine():
        with DefaultScope.overwrite_default_scope('yolo_plugin'):
            ours = MODELS.build(our_cfg)
        with DefaultScope.overwrite_default_scope('mmdet'):
            theirs = MMDET_MODELS.build(mmdet_model_cfg(settings, our_cfg.test_cfg))
        theirs.init_weights()
    calibration = synthetic_batch(2, settings, settings.seed + 2)
    share_weights(theirs, ours, calibration)
    return ours.to(settings.torch_device), theirs.to(settings.torch_device)


def share_weights(mmdet_model: torch.nn.Module, our_model: torch.nn.Module,
                  calibration_batch: dict) -> None:
    """Make mmdet's freshly initialised weights behave like trained ones
    where the benchmark needs it, and copy them into ours.

    - BN running statistics from a batch (a train-mode forward): the
      initial ones (mean 0, variance 1) let eval-mode activations grow to
      thousands, saturating every score.
    - Prediction convs: objectness weights 0 and bias 0 (objectness 0.5
      everywhere, so that mmdet's ``nms_pre`` on class scores and ours on
      objectness x class pick the same candidates); class weights
      Normal(0, 2 / sqrt(fan_in)) and bias -2 (scores about 0.06, spread
      over an order of magnitude): every image fills ``nms_pre`` candidates
      above the score threshold, the heaviest NMS load of an evaluation.
    """
    _calibrate_batch_norm(mmdet_model, calibration_batch)
    head = mmdet_model.bbox_head
    with torch.no_grad():
        for conv in head.convs_pred:
            weight = conv.weight.view(head.num_base_priors, head.num_attrib, -1)
            bias = conv.bias.view(head.num_base_priors, head.num_attrib)
            weight[:, 4] = 0.0
            bias[:, 4] = 0.0
            weight[:, 5:].normal_(0.0, 2.0 / weight.shape[-1]**0.5)
            bias[:, 5:] = -2.0
    our_model.load_state_dict(convert_mmdet_state_dict(mmdet_model.state_dict(), 'mmdet YOLOv3'))


def _calibrate_batch_norm(model: torch.nn.Module, batch: dict) -> None:
    """Set the running statistics of every BN layer of ``model`` to the
    batch statistics of ``batch`` (one forward, no gradients)."""
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    saved = [(m.momentum, m.training) for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average: one batch sets it
        norm.train()
    with torch.no_grad():
        model(model.data_preprocessor(batch, False)['inputs'], mode='tensor')
    for norm, (momentum, training) in zip(norms, saved):
        norm.momentum = momentum
        norm.train(training)


# ------------------------------------------------------------------ data
def synthetic_batch(batch_size: int, settings: BenchmarkSettings, seed: int) -> dict:
    """A batch as a dataloader hands it to ``train_step`` / ``test_step``:
    ``inputs``, ``batch_size`` random ``(3, S, S)`` uint8 images, and
    ``data_samples`` with ``objects_per_img`` random boxes (xyxy pixels,
    sides 8 px to S / 2) and labels each, and no ignored regions."""
    gen = torch.Generator().manual_seed(seed)
    size, count = settings.img_size, settings.objects_per_img
    inputs = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=gen)
              for _ in range(batch_size)]
    wh = 8 + torch.rand(batch_size, count, 2, generator=gen) * (size / 2 - 8)
    top_left = torch.rand(batch_size, count, 2, generator=gen) * (size - wh)
    boxes = torch.cat((top_left, top_left + wh), dim=-1)  # (B, n, 4)
    labels = torch.randint(0, settings.num_classes, (batch_size, count), generator=gen)
    samples = []
    for img_boxes, img_labels in zip(boxes, labels):
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
            batch_input_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(bboxes=img_boxes, labels=img_labels)
        sample.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                                labels=torch.zeros(0, dtype=torch.long))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def random_head_outputs(head: torch.nn.Module, batch_size: int, img_size: int,
                        device: torch.device, seed: int) -> List[torch.Tensor]:
    """Random ``(B, A * (5 + K), S / s, S / s)`` maps, one a level (stride
    32 first), in the layout both heads share."""
    gen = torch.Generator().manual_seed(seed)
    channels = head.num_base_priors * head.num_attrib
    return [torch.randn(batch_size, channels, img_size // s, img_size // s, generator=gen).to(device)
            for s in head.featmap_strides]


# ------------------------------------------------------------ contestants
@dataclass
class Contestants:
    """What the measurements run: both models, our inference copy and the
    optimizer wrappers (keys ``ours_fp32``, ``ours_amp`` where
    ``amp_dtype`` is set, ``mmdet``)."""
    ours: torch.nn.Module
    mmdet: torch.nn.Module
    deploy: torch.nn.Module  # ours as it infers: eval mode, conv + BN fused
    mmdet_deploy: torch.nn.Module  # mmdet's as it infers: eval mode
    wrappers: Dict[str, OptimWrapper]


def build_contestants(settings: BenchmarkSettings) -> Contestants:
    """Both models and their optimizer wrappers; on the CPU with
    ``keep_freed_memory``, also the allocator policy of CPU training for the
    whole process."""
    if settings.device == 'cpu' and settings.keep_freed_memory:
        keep_freed_memory_for_reuse()
    ours, theirs = build_models(settings)
    # Inference runs on copies, so that training steps timed in between
    # (which change weights and BN statistics, hence the NMS load) leave
    # both inference models as built.
    deploy = copy.deepcopy(ours).eval()
    if settings.fuse_conv_bn:
        deploy.fuse_conv_bn()
    return Contestants(ours, theirs, deploy, copy.deepcopy(theirs).eval(),
                       optim_wrappers(ours, theirs, settings))


def optim_wrappers(ours, theirs, settings: BenchmarkSettings) -> Dict[str, OptimWrapper]:
    """The optimizer wrapper of mmdet's YOLOv3 config (SGD, gradient
    clipping) for both models; for our mixed-precision row mmengine's
    ``AmpOptimWrapper`` on a GPU (on the CPU ``BFloat16OptimWrapper``, which
    autocasts around the fp32 one)."""
    theirs_cfg = get_config(MMDET_YOLOV3_CONFIG).optim_wrapper
    our_cfg = copy.deepcopy(theirs_cfg)
    wrappers = dict(ours_fp32=build_optim_wrapper(ours, our_cfg),
                    mmdet=build_optim_wrapper(theirs, theirs_cfg))
    if settings.amp_dtype is not None:
        if settings.device == 'cuda':
            our_cfg.update(type='AmpOptimWrapper', dtype=settings.amp_dtype)
        else:  # what tools/train.py --amp selects on a CPU
            our_cfg.update(type='BFloat16OptimWrapper')
        with DefaultScope.overwrite_default_scope('yolo_plugin'):
            wrappers['ours_amp'] = build_optim_wrapper(ours, our_cfg)
    return wrappers


def default_amp_dtype(device: str) -> Optional[str]:
    """The mixed-precision rows' dtype unless one is asked for: float16 on
    a GPU; bfloat16 on a CPU that computes it natively, else none (emulated
    bfloat16 is several times slower than fp32 and says nothing useful)."""
    if device == 'cuda':
        return 'float16'
    return 'bfloat16' if cpu_has_native_bfloat16() else None


def recommended_variant(settings: BenchmarkSettings, kind: str) -> str:
    """Our variant of ``kind`` (``'train'`` or ``'inference'``) in the
    precision we recommend (:meth:`BenchmarkSettings.amp_recommended`)."""
    return 'ours_amp' if settings.amp_recommended(kind) else 'ours_fp32'


def _amp_context(settings: BenchmarkSettings):
    return torch.autocast(settings.device, dtype=getattr(torch, settings.amp_dtype))


def inference_calls(contestants: Contestants, settings: BenchmarkSettings, batch: dict,
                    outputs: Optional[dict] = None) -> Dict[str, Callable[[], None]]:
    """``test_step`` of ``batch`` without gradients: ``ours_fp32``,
    ``ours_amp`` (autocast to ``amp_dtype``), ``mmdet``; each keeps its
    detections in ``outputs[name]``."""
    runs = dict(ours_fp32=(contestants.deploy, nullcontext), mmdet=(contestants.mmdet_deploy, nullcontext))
    if settings.amp_dtype is not None:
        runs['ours_amp'] = (contestants.deploy, lambda: _amp_context(settings))

    def make(name, model, context_factory):
        def call():
            model.eval()
            with torch.no_grad(), context_factory():
                result = model.test_step(batch)
            if outputs is not None:
                outputs[name] = result
        return call

    return {name: make(name, model, context) for name, (model, context) in runs.items()}


def training_calls(contestants: Contestants, settings: BenchmarkSettings,
                   batch: dict) -> Dict[str, Callable[[], None]]:
    """``train_step`` of ``batch`` (preprocessing, forward, loss, backward,
    optimizer step): ``ours_fp32``, ``ours_amp``, ``mmdet``."""
    wrappers = contestants.wrappers
    runs = dict(ours_fp32=(contestants.ours, wrappers['ours_fp32']),
                mmdet=(contestants.mmdet, wrappers['mmdet']))
    if 'ours_amp' in wrappers:
        # The wrapper autocasts (AmpOptimWrapper, BFloat16OptimWrapper).
        runs['ours_amp'] = (contestants.ours, wrappers['ours_amp'])

    def make(model, wrapper):
        def call():
            model.train()
            model.train_step(batch, wrapper)
        return call

    return {name: make(*run) for name, run in runs.items()}


def head_to_head(calls: Dict[str, Callable], settings: BenchmarkSettings,
                 kind: str) -> Dict[str, Callable]:
    """Our recommended variant of ``kind`` and mmdet's, as ``ours`` and
    ``mmdet``."""
    return dict(ours=calls[recommended_variant(settings, kind)], mmdet=calls['mmdet'])


# ------------------------------------------------------------- measuring
def _median_ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000


def _ratio_row(key: str, name: str, unit: str, ours: float, theirs: float,
               settings: BenchmarkSettings, batch_size: int) -> Row:
    """A timing row with issue 9's target for the settings' device."""
    row = Row(key, name, unit, ours, theirs)
    target_key = key.split('_ours_')[0]  # a variant's row: 'train_step_ours_amp'
    if settings.device == 'cpu' and target_key in CPU_RATIO_TARGETS:
        limit = CPU_RATIO_TARGETS[target_key]
        row.target, row.met = f'<= {limit}x mmdet', row.ratio <= limit
    elif settings.device == 'cuda' and target_key in CUDA_THROUGHPUT_TARGETS:
        minimum = CUDA_THROUGHPUT_TARGETS[target_key]
        row.target = f'>= {minimum:.0f} img/s'
        row.met = batch_size / (ours / 1000) >= minimum
    return row


def _variant_rows(key: str, kind: str, title: str, times: Dict[str, List[float]],
                  settings: BenchmarkSettings, batch_size: int) -> List[Row]:
    """One row of each of our variants of ``kind`` against mmdet, each with
    the target; the recommended one first, with ``key``, the others
    ``{key}_{variant}``."""
    recommended = recommended_variant(settings, kind)
    labels = dict(ours_fp32='fp32', ours_amp=f'autocast {settings.amp_dtype}')
    labels = {recommended: labels.pop(recommended), **labels}
    return [
        _ratio_row(key if name == recommended else f'{key}_{name}',
                   f'{title}, ours {labels[name]}', 'ms / batch', _median_ms(times[name]),
                   _median_ms(times['mmdet']), settings, batch_size)
        for name in labels if name in times
    ]


def measure_loss(contestants: Contestants, settings: BenchmarkSettings) -> Tuple[Row, dict]:
    """Loss + target assignment of one batch: ``loss_by_feat`` of each head
    on the same random outputs and ground truth (ours channels-last as in
    training), no backward; cheap, so at least ``LOSS_MIN_REPEATS`` runs."""
    device = settings.torch_device
    batch = synthetic_batch(settings.batch_size, settings, settings.seed)
    gts = [sample.gt_instances.to(device) for sample in batch['data_samples']]
    ignored = [sample.ignored_instances.to(device) for sample in batch['data_samples']]
    metas = [sample.metainfo for sample in batch['data_samples']]
    maps = random_head_outputs(contestants.mmdet.bbox_head, settings.batch_size,
                               settings.img_size, device, settings.seed)
    our_maps = [m.contiguous(memory_format=torch.channels_last) if settings.channels_last else m
                for m in maps]
    ours, theirs = contestants.ours.bbox_head, contestants.mmdet.bbox_head
    with torch.no_grad():
        times = time_in_turns(
            dict(ours=lambda: ours.loss_by_feat(our_maps, gts, metas, ignored),
                 mmdet=lambda: theirs.loss_by_feat(maps, gts, metas)),
            settings.warmup, max(settings.repeats, LOSS_MIN_REPEATS), device)
    row = _ratio_row('loss', 'loss + target assignment', 'ms / batch', _median_ms(times['ours']),
                     _median_ms(times['mmdet']), settings, settings.batch_size)
    return row, times


def measure_inference(contestants: Contestants,
                      settings: BenchmarkSettings) -> Tuple[List[Row], dict, dict]:
    """``test_step`` (preprocessing, forward, decode, NMS, rescale) of one
    batch, each of our variants and mmdet's; and how well each of ours
    reproduces mmdet's detections (:func:`mmdet_test_cfg_agreement`)."""
    batch = synthetic_batch(settings.infer_batch_size, settings, settings.seed + 1)
    times = time_in_turns(inference_calls(contestants, settings, batch),
                          settings.warmup, settings.repeats, settings.torch_device)
    rows = _variant_rows('inference', 'inference', 'inference incl. decode + NMS', times, settings,
                         settings.infer_batch_size)
    return rows, times, mmdet_test_cfg_agreement(contestants, settings, batch)


def detection_check_models(contestants: Contestants,
                           settings: BenchmarkSettings) -> Contestants:
    """The contestants with copies of both inference models that differ
    from the timed ones in two ways, so that detections are compared as
    mmdet makes them:

    - the head's ``test_cfg`` is mmdet's shipped YOLOv3 one, verbatim on
      both (no ``candidate_score`` / ``clip_to_image`` keys: our head then
      picks candidates by class probability, as mmdet's does);
    - objectness varies from prior to prior (the same prediction weights
      in both; the timed models have objectness 0.5 everywhere, see
      :func:`share_weights`, under which the candidate rules agree anyway).
    """
    ours = copy.deepcopy(contestants.deploy)
    theirs = copy.deepcopy(contestants.mmdet_deploy)
    test_cfg = get_config(MMDET_YOLOV3_CONFIG).model.test_cfg
    gen = torch.Generator().manual_seed(settings.seed + 3)
    with torch.no_grad():
        for their_conv, our_conv in zip(theirs.bbox_head.convs_pred, ours.bbox_head.pred_convs):
            weight = their_conv.weight.view(theirs.bbox_head.num_base_priors,
                                            theirs.bbox_head.num_attrib, -1)
            objectness = torch.randn(weight[:, 4].shape, generator=gen)
            weight[:, 4] = objectness.to(weight) * (2.0 / weight.shape[-1]**0.5)
            our_conv.weight.copy_(their_conv.weight)
    for model in (ours, theirs):
        model.bbox_head.test_cfg = copy.deepcopy(test_cfg)
    return replace(contestants, deploy=ours, mmdet_deploy=theirs)


def mmdet_test_cfg_agreement(contestants: Contestants,
                             settings: BenchmarkSettings, batch: dict) -> Dict[str, dict]:
    """How well each of our inference variants reproduces mmdet's
    detections of ``batch`` (:func:`detection_agreement`), both under
    mmdet's own ``test_cfg`` with varied objectness
    (:func:`detection_check_models`)."""
    outputs = {}
    for call in inference_calls(detection_check_models(contestants, settings), settings, batch,
                                outputs).values():
        call()
    return {f'{name}_vs_mmdet': detection_agreement(outputs['mmdet'], outputs[name])
            for name in outputs if name != 'mmdet'}


def measure_training(contestants: Contestants,
                     settings: BenchmarkSettings) -> Tuple[List[Row], dict]:
    """One ``train_step`` on the same batch, each of our variants and
    mmdet's."""
    batch = synthetic_batch(settings.batch_size, settings, settings.seed)
    times = time_in_turns(training_calls(contestants, settings, batch), settings.warmup,
                          settings.repeats, settings.torch_device)
    rows = _variant_rows('train_step', 'train', 'training step (fwd, loss, bwd, SGD)', times,
                         settings, settings.batch_size)
    return rows, times


def detection_agreement(reference: List[DetDataSample], candidate: List[DetDataSample],
                        iou_thr: float = 0.5) -> dict:
    """How well ``candidate`` detections reproduce ``reference`` ones on the
    same images: ``recall``, the share of reference detections with a
    candidate of the same image and label at IoU >= ``iou_thr``, and the
    mean and max absolute score difference of those matches."""
    ref_img, ref_boxes, ref_scores, ref_labels = _flatten_detections(reference)
    cand_img, cand_boxes, cand_scores, cand_labels = _flatten_detections(candidate)
    result = dict(reference=len(ref_scores), candidate=len(cand_scores))
    if not len(ref_scores) or not len(cand_scores):
        return dict(result, recall=float(not len(ref_scores)), mean_score_diff=None,
                    max_score_diff=None)
    same = (ref_img[:, None] == cand_img[None]) & (ref_labels[:, None] == cand_labels[None])
    iou = bbox_overlaps(ref_boxes, cand_boxes).masked_fill(~same, -1)  # (R, C)
    best_iou, best = iou.max(dim=1)
    matched = best_iou >= iou_thr
    score_diff = (ref_scores - cand_scores[best]).abs()[matched]
    return dict(result, recall=matched.float().mean().item(),
                mean_score_diff=score_diff.mean().item() if matched.any() else None,
                max_score_diff=score_diff.max().item() if matched.any() else None)


def _flatten_detections(samples: List[DetDataSample]) -> Tuple[torch.Tensor, ...]:
    """(image index, boxes, scores, labels) of all detections, in fp32 on
    the CPU. Boxes as the heads give them: under mmdet's ``test_cfg``
    neither clips (clipped, the boxes of large anchors would all become
    the whole image, and a detection could match another one's twin)."""
    preds = [sample.pred_instances for sample in samples]
    counts = torch.tensor([len(pred) for pred in preds])
    img_idx = torch.repeat_interleave(torch.arange(len(preds)), counts)
    return (img_idx, torch.cat([pred.bboxes.float().cpu() for pred in preds]),
            torch.cat([pred.scores.float().cpu() for pred in preds]),
            torch.cat([pred.labels.cpu() for pred in preds]))


def measure_memory(contestants: Contestants, settings: BenchmarkSettings) -> List[Row]:
    """Peak memory of one training step and one inference batch (our
    recommended variant and mmdet's), above the memory in use before
    (weights, optimizer state). Run after the timings: on the CPU it makes
    the C library return freed memory at once."""
    device = settings.torch_device
    if device.type == 'cpu':
        return_freed_memory_to_os()
    rows = []
    for key, kind, name, calls in (
            ('inference_memory', 'inference', 'inference peak memory',
             inference_calls(contestants, settings,
                             synthetic_batch(settings.infer_batch_size, settings,
                                             settings.seed + 1))),
            ('train_memory', 'train', 'training step peak memory',
             training_calls(contestants, settings,
                            synthetic_batch(settings.batch_size, settings, settings.seed)))):
        peaks = [peak_memory(call, device)
                 for call in head_to_head(calls, settings, kind).values()]
        unit = 'MiB GPU allocated' if device.type == 'cuda' else 'MiB resident'
        rows.append(Row(key, name, unit, *(None if p is None else p / MIB for p in peaks)))
    return rows


def measure_data_loading(settings: BenchmarkSettings, work_dir: str) -> Tuple[List[Row], dict]:
    """Images/s of the KITTI dataset of ``data_config`` on demo frames of
    KITTI's size: from the packed cache (ours) and decoding the PNG files
    (as mmdet's ``LoadImageFromFile``), for the image loading alone and for
    the whole training pipeline (mmdet's side with mmdet's transforms,
    ``with_mmdet_transforms`` of ``yolo_plugin.datasets.transforms.pipeline_variants``);
    one process, no workers. ``tools/benchmark.py --data-pipeline`` has the details."""
    root = make_demo_kitti(osp.join(work_dir, 'kitti'), num_train=settings.data_images,
                           num_val=0, seed=settings.seed, size=KITTI_IMAGE_SIZE, overwrite=True)
    cfg = load_config(settings.data_config)
    dataset_cfg = split_dataset_cfg(cfg, 'train')
    dataset_cfg.data_root = root
    pack = pack_split(cfg, 'train', osp.join(work_dir, 'train.pack'), show_progress=False)
    rows, all_times = [], {}
    for key, name, pipeline, theirs in (
            ('image_loading', 'image loading (packed vs PNG)', dataset_cfg.pipeline[:1],
             dataset_cfg.pipeline[:1]),
            ('train_pipeline', "KITTI train pipeline (ours packed vs mmdet's PNG)",
             dataset_cfg.pipeline, with_mmdet_transforms(dataset_cfg.pipeline))):
        packed = build_split_dataset(cfg, 'train', pipeline=pipeline, packed_file=pack)
        raw = build_split_dataset(cfg, 'train', pipeline=theirs, packed_file=None)
        times = time_in_turns(dict(ours=lambda: _load_all(packed, settings.seed),
                                   mmdet=lambda: _load_all(raw, settings.seed)),
                              settings.warmup, settings.repeats, torch.device('cpu'))
        count = len(raw)
        rows.append(Row(key, name, 'images / s', count / statistics.median(times['ours']),
                        count / statistics.median(times['mmdet'])))
        all_times[key] = times
    return rows, all_times


def _load_all(dataset, seed: int) -> None:
    """Every sample of ``dataset`` through its pipeline, with the random
    augmentations seeded alike for every pass."""
    random.seed(seed)
    np.random.seed(seed)
    for index in range(len(dataset)):
        dataset[index]


# ------------------------------------------------------------------ runs
def environment_info(settings: BenchmarkSettings) -> dict:
    """Machine, library versions and load, for the report."""
    info = dict(
        cpu=_cpu_model(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
        platform=platform.platform(), python=platform.python_version(),
        torch=torch.__version__, mmcv=mmcv.__version__, mmdet=mmdet.__version__,
        mmengine=mmengine.__version__, load_average=_load_average())
    if settings.device == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(settings.torch_device)
    return info


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def _load_average() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_benchmark(settings: BenchmarkSettings,
                  log: Callable[[str], None] = print) -> BenchmarkResult:
    """Every row of the benchmark, in one run: loss, inference, training,
    memory, data loading (skipped with ``data_images=0``)."""
    environment = environment_info(settings)
    log(f'building both models ({settings.widen_factor}x width, {settings.num_classes} classes)')
    contestants = build_contestants(settings)
    log('loss + assignment')
    loss_row, loss_times = measure_loss(contestants, settings)
    log('inference')
    infer_rows, infer_times, agreement = measure_inference(contestants, settings)
    log('training step')
    train_rows, train_times = measure_training(contestants, settings)
    log('peak memory')
    rows = [loss_row] + train_rows + infer_rows + measure_memory(contestants, settings)
    durations = dict(loss=loss_times, inference=infer_times, train_step=train_times)
    if settings.data_images:
        log(f'data loading ({settings.data_images} demo KITTI frames)')
        with tempfile.TemporaryDirectory(prefix='yolo_benchmark_') as work_dir:
            data_rows, data_times = measure_data_loading(settings, work_dir)
        rows += data_rows
        durations.update(data_times)
    environment['load_average_after'] = _load_average()
    return BenchmarkResult(asdict(settings), environment, rows, agreement, durations)


def profile_models(settings: BenchmarkSettings, row_limit: int = 15) -> Dict[str, str]:
    """torch.profiler tables of one training step and one inference batch
    of each model (our recommended variant), after one warm-up run."""
    contestants = build_contestants(settings)
    batch = synthetic_batch(settings.batch_size, settings, settings.seed)
    tables = {}
    for name, kind, calls in (
            ('inference', 'inference', inference_calls(contestants, settings, batch)),
            ('train_step', 'train', training_calls(contestants, settings, batch))):
        for side, call in head_to_head(calls, settings, kind).items():
            call()
            tables[f'{name}_{side}'] = top_operators(call, settings.torch_device, row_limit)
    return tables


def run_sweep(settings: BenchmarkSettings, batch_sizes: Sequence[int],
              img_sizes: Sequence[int], log: Callable[[str], None] = print) -> List[dict]:
    """Median ms a batch of the training step and of inference, both
    models (ours recommended), at each batch size (input
    ``settings.img_size``) and each input size (batch
    ``settings.batch_size``)."""
    contestants = build_contestants(settings)
    points = dict.fromkeys([(b, settings.img_size) for b in batch_sizes] +
                           [(settings.batch_size, s) for s in img_sizes])
    results = []
    for batch_size, img_size in points:
        log(f'sweep: batch {batch_size}, {img_size} px')
        point = BenchmarkSettings(**dict(asdict(settings), batch_size=batch_size,
                                         infer_batch_size=batch_size, img_size=img_size))
        batch = synthetic_batch(batch_size, point, settings.seed)
        calls = {}
        for kind, kind_calls in (('train', training_calls(contestants, point, batch)),
                                 ('inference', inference_calls(contestants, point, batch))):
            calls.update({f'{kind}_{side}': call
                          for side, call in head_to_head(kind_calls, point, kind).items()})
        times = time_in_turns(calls, settings.warmup, settings.repeats, settings.torch_device)
        results.append(dict(batch_size=batch_size, img_size=img_size,
                            **{name: _median_ms(t) for name, t in times.items()}))
    return results


def plot_sweep(points: List[dict], settings: BenchmarkSettings, out_file: str) -> str:
    """Two panels, ms a batch against batch size and against input size,
    for the training step and inference of both models. Returns
    ``out_file`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    def precision(kind: str) -> str:
        return settings.amp_dtype if settings.amp_recommended(kind) else 'fp32'

    series = (('train_ours', f'training, ours ({precision("train")})', 'C0', '-'),
              ('train_mmdet', 'training, mmdet (fp32)', 'C1', '-'),
              ('inference_ours', f'inference, ours ({precision("inference")})', 'C0', '--'),
              ('inference_mmdet', 'inference, mmdet (fp32)', 'C1', '--'))
    panels = (('batch_size', 'img_size', settings.img_size, 'batch size (images)',
               f'input {settings.img_size} x {settings.img_size} px'),
              ('img_size', 'batch_size', settings.batch_size, 'input side (px)',
               f'batch {settings.batch_size}'))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (x_key, fixed_key, fixed, x_label, title) in zip(axes, panels):
        chosen = sorted((p for p in points if p[fixed_key] == fixed), key=lambda p: p[x_key])
        xs = [p[x_key] for p in chosen]
        for key, label, colour, style in series:
            ax.plot(xs, [p[key] / 1000 for p in chosen], style, color=colour, marker='o',
                    label=label)
        ax.set(xlabel=x_label, ylabel='seconds a batch', title=title, xticks=xs)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f'YOLOv3 ({settings.widen_factor}x width, {settings.num_classes} classes) '
                 f'on {settings.device}: ours vs mmdet')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=110)
    plt.close(fig)
    return out_file
