"""Export a trained detector to one ONNX graph with the post-processing
inside (``tools/export_onnx.py``; its int8 copy: :mod:`.quantize`).

The graph (see docs/deployment.md) is built in two parts and merged with
``onnx.compose``:

1. ``torch.onnx.export`` (the torch.export-based exporter) of the network:
   ``images (N, 3, H, W)`` float32 RGB 0-255 -> normalisation, backbone,
   neck and head with conv + BN folded, and the head's own decode of all
   levels (``decode_by_feat``) -> ``raw_boxes (N, P, 4)`` xyxy input
   pixels, ``raw_objectness (N, P)`` and ``raw_class_prob (N, P, K)``.
2. The ``test_cfg`` post-processing of ``predict_by_feat``
   (:mod:`.postprocess`) -> ``num_dets (N,)``, ``boxes (N, D, 4)``,
   ``scores (N, D)``, ``labels (N, D)``, ``D = max_per_img``.
"""
import json
import math
import os.path as osp
import warnings
from dataclasses import asdict
from typing import List, Optional, Sequence, Tuple

import onnx
import torch
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from onnx import helper

from yolo_plugin.apis import load_detector
from .onnx_runner import METADATA_KEY, Preprocess
from .postprocess import ExportError, PostprocessSettings, RAW_NAMES, postprocess_model

INPUT_NAME = 'images'
# The torch.export-based exporter writes opset 18 and later.
MIN_OPSET = 18
DEFAULT_OPSET = 18


def exportable_head(model: torch.nn.Module, source: str) -> torch.nn.Module:
    """The model's ``bbox_head`` when the graph can follow it: a head whose
    ``predict_by_feat`` is the one of the class defining ``flatten_preds``
    (the YOLO head of yolo_plugin, under any registered name).

    Raises:
        ExportError: naming ``source`` and the head type otherwise.
    """
    head = getattr(model, 'bbox_head', None)
    mro = type(head).__mro__
    owner = next((cls for cls in mro if 'flatten_preds' in vars(cls)), None)
    predictor = next((cls for cls in mro if 'predict_by_feat' in vars(cls)), None)
    if owner is None or predictor is not owner or not hasattr(head, 'bbox_coder'):
        raise ExportError(
            f'{source}: model.bbox_head of type {type(head).__name__} cannot be exported: '
            'the graph reproduces the yolo_plugin YOLO head (flatten_preds, '
            'bbox_coder.decode and its predict_by_feat), not an override or another head')
    return head


def pipeline_preprocess(cfg: Config, input_size: Optional[Tuple[int, int]], stride: int,
                        source: str) -> Preprocess:
    """The test pipeline's ``Resize`` and ``Pad`` as the runner applies them.
    ``input_size`` ``(H, W)``: the graph's, which also becomes the resize
    scale; ``None``: the ``Resize`` scale padded to a multiple of ``stride``.

    Raises:
        ExportError: no ``Resize`` with a ``scale`` and the cv2 backend, a
            non-numeric ``Pad.pad_val``, or an input size not a multiple of
            ``stride``.
    """
    steps = {str(step['type']).split('.')[-1]: step for step in get_test_pipeline_cfg(cfg)}
    resize = steps.get('Resize')
    if resize is None or 'scale' not in resize or resize.get('backend', 'cv2') != 'cv2':
        raise ExportError(f'{source}: the test pipeline needs a Resize step with a scale '
                          '(cv2 backend), which the ONNX runner reproduces')
    scale = resize['scale']
    scale_w, scale_h = (scale, scale) if isinstance(scale, int) else scale
    pad_value = steps.get('Pad', {}).get('pad_val', 0)
    if isinstance(pad_value, dict):
        pad_value = pad_value.get('img', 0)
    if not isinstance(pad_value, (int, float)):
        raise ExportError(f'{source}: Pad.pad_val must be one number to export, got {pad_value!r}')
    if input_size is None:
        input_size = (math.ceil(scale_h / stride) * stride, math.ceil(scale_w / stride) * stride)
    else:
        if any(side % stride for side in input_size):
            raise ExportError(f'image size {tuple(input_size)} must be a multiple of the '
                              f'largest stride, {stride}')
        scale_w, scale_h = input_size[1], input_size[0]
    return Preprocess(input_size=tuple(input_size), resize_scale=(scale_w, scale_h),
                      keep_ratio=resize.get('keep_ratio', False),
                      interpolation=resize.get('interpolation', 'bilinear'),
                      pad_value=float(pad_value))


class DecodedDetector(torch.nn.Module):
    """The network part of the graph: ``images (N, 3, H, W)`` float32 RGB
    0-255 -> the head's ``decode_by_feat`` (boxes in input pixels,
    objectness, class probabilities), for one input size (the priors are
    constants).

    Args:
        detector: a single-stage detector (``extract_feat``, ``bbox_head``).
        input_size: ``(H, W)``.
        mean, std: the data preprocessor's, in the model's channel order.
        to_bgr: the model takes BGR (the graph input is RGB).
    """

    def __init__(self, detector: torch.nn.Module, input_size: Tuple[int, int],
                 mean: Sequence[float], std: Sequence[float], to_bgr: bool) -> None:
        super().__init__()
        self.detector = detector
        self.to_bgr = to_bgr
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        with torch.no_grad():
            pred_maps = self._pred_maps(torch.zeros(1, 3, *input_size))
        priors = detector.bbox_head.grid_priors(pred_maps)
        self.register_buffer('cells', priors.cells)
        self.register_buffer('anchors', priors.anchors)
        self.register_buffer('strides', priors.strides)

    def _pred_maps(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.to_bgr:
            images = images.flip(1)
        (pred_maps, ) = self.detector.bbox_head(
            self.detector.extract_feat((images - self.mean) / self.std))
        return pred_maps

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.detector.bbox_head.decode_by_feat(self._pred_maps(images), self.cells,
                                                      self.anchors, self.strides)


def input_normalisation(cfg: Config) -> Tuple[List[float], List[float], bool]:
    """``(mean, std, to_bgr)`` of the config's data preprocessor: the images
    the test pipeline loads are BGR, the preprocessor may swap them to RGB
    (``bgr_to_rgb``) and normalises them in that order."""
    preprocessor = cfg.model.get('data_preprocessor') or {}
    mean = preprocessor.get('mean') or [0.0] * 3
    std = preprocessor.get('std') or [1.0] * 3
    swaps = preprocessor.get('bgr_to_rgb', False) or preprocessor.get('rgb_to_bgr', False)
    return list(mean), list(std), not swaps


def network_model(network: DecodedDetector, input_size: Tuple[int, int], dynamic_batch: bool,
                  opset: int) -> onnx.ModelProto:
    """``network`` as ONNX: input ``images``, outputs ``RAW_NAMES``."""
    example = torch.zeros(2 if dynamic_batch else 1, 3, *input_size)  # 2: not specialised to 1
    dynamic_shapes = {'images': {0: torch.export.Dim('batch')}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the exporter's notes on its own internals
        program = torch.onnx.export(network, (example, ), None, input_names=[INPUT_NAME],
                                    output_names=list(RAW_NAMES), opset_version=opset,
                                    dynamo=True, dynamic_shapes=dynamic_shapes, verbose=False)
    return program.model_proto


def set_export_record(model: onnx.ModelProto, record: dict) -> None:
    """Store ``record`` as JSON under ``METADATA_KEY`` in the model
    metadata (which the runner reads), keeping the other entries."""
    props = {prop.key: prop.value for prop in model.metadata_props}
    helper.set_model_props(model, {**props, METADATA_KEY: json.dumps(record)})


def export_onnx(config: str, checkpoint: str, out_file: str,
                img_size: Optional[Tuple[int, int]] = None, dynamic_batch: bool = False,
                opset: int = DEFAULT_OPSET, cfg_options: Optional[dict] = None) -> str:
    """Write the detector of ``config`` with the weights of ``checkpoint``
    to ``out_file`` as one ONNX graph (see the module docstring and
    docs/deployment.md), checked with ``onnx.checker``.

    Args:
        img_size: ``(H, W)`` of the input, multiples of the largest stride;
            default the test pipeline's ``Resize`` scale padded to one.
        dynamic_batch: a symbolic batch size ``N`` (else 1).
        opset: ONNX opset, at least ``MIN_OPSET``.
        cfg_options: config keys to override, as ``--cfg-options``.

    Returns:
        ``out_file``.

    Raises:
        ExportError: a model, ``test_cfg`` or test pipeline the graph cannot
            reproduce.
    """
    if opset < MIN_OPSET:
        raise ExportError(f'opset {opset} is below {MIN_OPSET}, the lowest the exporter writes')
    model = load_detector(config, checkpoint, cfg_options=cfg_options)
    cfg = model.cfg
    head = exportable_head(model, config)
    settings = PostprocessSettings.from_test_cfg(head.test_cfg, config)
    preprocess = pipeline_preprocess(cfg, img_size, max(head.prior_generator.strides), config)
    network = DecodedDetector(model, preprocess.input_size, *input_normalisation(cfg))
    network_proto = network_model(network, preprocess.input_size, dynamic_batch, opset)
    post_proto = postprocess_model(settings, len(network.cells), head.num_classes,
                                   preprocess.input_size, dynamic_batch, opset,
                                   network_proto.ir_version)
    merged = onnx.compose.merge_models(network_proto, post_proto,
                                       io_map=[(name, name) for name in RAW_NAMES])
    # merge_models (onnx 1.23) lists a domain the two parts share twice.
    opsets = {entry.domain: entry.version for entry in merged.opset_import}
    del merged.opset_import[:]
    merged.opset_import.extend(helper.make_opsetid(domain, version)
                               for domain, version in opsets.items())
    set_export_record(merged, dict(classes=list(model.dataset_meta['classes']),
                                   preprocess=preprocess.to_json(), test_cfg=asdict(settings),
                                   config=osp.basename(config)))
    onnx.checker.check_model(merged, full_check=True)
    onnx.save(merged, out_file)
    return out_file


