"""Export a trained detector to one ONNX graph with the post-processing
inside, and quantise it to int8 (``tools/export_onnx.py``).

The graph (see docs/deployment.md) is built in two parts and merged with
``onnx.compose``:

1. ``torch.onnx.export`` (the torch.export-based exporter) of the network:
   ``images (N, 3, H, W)`` float32 RGB 0-255 -> normalisation, backbone,
   neck and head with conv + BN folded, and the head's own decode of all
   levels (``decode_by_feat``) -> ``raw_boxes (N, P, 4)`` xyxy input
   pixels, ``raw_objectness (N, P)`` and ``raw_class_prob (N, P, K)``.
2. The ``test_cfg`` post-processing of ``predict_by_feat`` written with
   ``onnx.helper`` (TopK, NonMaxSuppression, gathers, a scatter and a last
   TopK to fixed-size outputs) -> ``num_dets (N,)``, ``boxes (N, D, 4)``,
   ``scores (N, D)``, ``labels (N, D)``, ``D = max_per_img``.
"""
import json
import math
import os.path as osp
import warnings
from dataclasses import asdict, dataclass, fields
from typing import List, Optional, Sequence, Tuple

import numpy as np
import onnx
import torch
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)

from yolo_plugin.apis import build_split_dataset, load_config, load_detector
from .onnx_runner import (METADATA_KEY, ONNXDetector, Preprocess, letterbox, read_image,
                          to_input)

INPUT_NAME = 'images'
OUTPUT_NAMES = ('num_dets', 'boxes', 'scores', 'labels')
# Outputs of the network part, inputs of the post-processing part.
RAW_NAMES = ('raw_boxes', 'raw_objectness', 'raw_class_prob')
# The torch.export-based exporter writes opset 18 and later.
MIN_OPSET = 18
DEFAULT_OPSET = 18
CANDIDATE_SCORES = ('class_prob', 'score')
# Ranking score of a pair that is no candidate (detection scores are >= 0).
NOT_A_CANDIDATE = -1.0
# Operators quantised to int8; the prediction convs and everything after
# them (decode, post-processing) stay fp32.
INT8_OP_TYPES = ('Conv', 'LeakyRelu', 'Add', 'Concat', 'Resize')


class ExportError(ValueError):
    """A config or model the ONNX export cannot follow exactly."""


@dataclass(frozen=True)
class PostprocessSettings:
    """The ``test_cfg`` keys of the head's ``predict_by_feat``, with its
    defaults (see its docstring for their meaning); ``iou_threshold`` is
    ``nms.iou_threshold`` (``None``: no NMS)."""
    candidate_score: str = 'class_prob'
    conf_thr: float = -1
    score_thr: float = 0.0
    nms_pre: int = -1
    min_bbox_size: float = -1
    clip_to_image: bool = False
    iou_threshold: Optional[float] = None
    max_per_img: int = 100

    @classmethod
    def from_test_cfg(cls, test_cfg: Optional[dict], source: str) -> 'PostprocessSettings':
        """Settings of ``test_cfg``; ``source`` (the config file) names it
        in errors.

        Raises:
            ExportError: no ``test_cfg``, an unknown ``candidate_score``, a
                ``max_per_img`` below 1 or an ``nms`` without ``iou_threshold``.
        """
        if test_cfg is None:
            raise ExportError(f'{source}: model.test_cfg is missing; the exported graph '
                              'applies its thresholds, nms and max_per_img')
        nms = test_cfg.get('nms')
        if nms and 'iou_threshold' not in nms:
            raise ExportError(f'{source}: test_cfg.nms has no iou_threshold')
        names = {field.name for field in fields(cls)} - {'iou_threshold'}
        settings = cls(iou_threshold=nms['iou_threshold'] if nms else None,
                       **{name: test_cfg[name] for name in names if name in test_cfg})
        if settings.candidate_score not in CANDIDATE_SCORES:
            raise ExportError(f'{source}: test_cfg.candidate_score must be one of '
                              f'{CANDIDATE_SCORES} to export, got {settings.candidate_score!r}')
        if not isinstance(settings.max_per_img, int) or settings.max_per_img < 1:
            raise ExportError(f'{source}: test_cfg.max_per_img must be a positive int to '
                              f'export (the outputs have that many rows), got '
                              f'{settings.max_per_img!r}')
        if settings.min_bbox_size > 0:
            warnings.warn(f'{source}: test_cfg.min_bbox_size={settings.min_bbox_size} is '
                          'applied in input pixels inside the graph (PyTorch: in '
                          'original-image pixels)')
        return settings


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


class _GraphBuilder:
    """Nodes and constants of an ONNX graph, every name ``post/<n>``."""

    def __init__(self) -> None:
        self.nodes: List[onnx.NodeProto] = []
        self.initializers: List[onnx.TensorProto] = []
        self._count = 0

    def _name(self) -> str:
        self._count += 1
        return f'post/{self._count}'

    def const(self, value, dtype=np.int64) -> str:
        name = self._name()
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, num_outputs: int = 1,
           outputs: Optional[List[str]] = None, **attrs):
        """Add a node; its output name, or the list of them."""
        outputs = outputs or [self._name() for _ in range(num_outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs, name=self._name(),
                                           **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def gather_rows(self, data: str, index: str, width: int) -> str:
        """``data (N, M, width)`` rows at ``index (N, D)`` -> ``(N, D, width)``."""
        index = self.op('Expand', self.op('Unsqueeze', index, self.const([2])),
                        self.const([1, 1, width]))
        return self.op('GatherElements', data, index, axis=1)

    def pad_rows(self, data: str, rank: int, extra: int, value, dtype, output: str) -> str:
        """``data`` with ``extra`` rows of ``value`` appended along axis 1."""
        if not extra:
            return self.op('Identity', data, outputs=[output])
        pads = [0] * (2 * rank)
        pads[rank + 1] = extra
        return self.op('Pad', data, self.const(pads), self.const(value, dtype), outputs=[output])


def postprocess_model(settings: PostprocessSettings, num_priors: int, num_classes: int,
                      input_size: Tuple[int, int], dynamic_batch: bool, opset: int,
                      ir_version: int = onnx.IR_VERSION) -> onnx.ModelProto:
    """The post-processing part: inputs ``RAW_NAMES`` (``P = num_priors``,
    ``K = num_classes``), outputs ``OUTPUT_NAMES``, ``predict_by_feat``'s
    selection with ``settings`` on boxes in input pixels.

    A (box, class) pair is a candidate when its candidate score (class
    probability, or detection score with ``'score'``) is above
    ``score_thr`` among the ``nms_pre`` best pairs of its image; its ranking
    score is its detection score, objectness x class probability.
    """
    g = _GraphBuilder()
    boxes, objectness, class_prob = RAW_NAMES
    f32 = np.float32
    candidate = class_prob  # (N, P, K)
    if settings.candidate_score == 'score':
        candidate = g.op('Mul', class_prob, g.op('Unsqueeze', objectness, g.const([2])))
    if settings.conf_thr > 0:
        low = g.op('Less', objectness, g.const(settings.conf_thr, f32))
        candidate = g.op('Where', g.op('Unsqueeze', low, g.const([2])), g.const(-np.inf, f32),
                         candidate)
    if settings.clip_to_image:
        input_h, input_w = input_size
        boxes = g.op('Min', g.op('Max', boxes, g.const(0, f32)),
                     g.const([input_w, input_h, input_w, input_h], f32))

    flat = g.op('Reshape', candidate, g.const([0, -1]))  # (N, P*K), pair p*K + k
    num_pairs = num_priors * num_classes
    if 0 < settings.nms_pre < num_pairs:
        top, pair = g.op('TopK', flat, g.const([settings.nms_pre]), num_outputs=2, axis=1)
        num_candidates = settings.nms_pre
    else:
        top = flat
        pair = g.op('Expand', g.const(np.arange(num_pairs)[None]), g.op('Shape', flat))
        num_candidates = num_pairs
    valid = g.op('Greater', top, g.const(settings.score_thr, f32))  # (N, M)
    prior = g.op('Div', pair, g.const(num_classes))
    labels = g.op('Mod', pair, g.const(num_classes))
    cand_boxes = g.gather_rows(boxes, prior, 4)  # (N, M, 4)
    scores = top
    if settings.candidate_score == 'class_prob':
        scores = g.op('Mul', top, g.op('GatherElements', objectness, prior, axis=1))
    if settings.min_bbox_size >= 0:
        size = g.op('Sub', g.op('Slice', cand_boxes, g.const([2]), g.const([4]), g.const([2])),
                    g.op('Slice', cand_boxes, g.const([0]), g.const([2]), g.const([2])))
        large = g.op('Greater', g.op('ReduceMin', size, g.const([2]), keepdims=0),
                     g.const(settings.min_bbox_size, f32))
        valid = g.op('And', valid, large)
    ranked = g.op('Where', valid, scores, g.const(NOT_A_CANDIDATE, f32))  # (N, M)

    if settings.iou_threshold is not None:
        # One score row a class: a pair competes in its own class only.
        of_class = g.op('Equal', g.op('Unsqueeze', labels, g.const([1])),
                        g.const(np.arange(num_classes).reshape(1, -1, 1)))
        class_rows = g.op('Where', of_class, g.op('Unsqueeze', ranked, g.const([1])),
                          g.const(NOT_A_CANDIDATE, f32))  # (N, K, M)
        selected = g.op('NonMaxSuppression', cand_boxes, class_rows,
                        g.const([settings.max_per_img]), g.const([settings.iou_threshold], f32),
                        g.const([NOT_A_CANDIDATE / 2], f32))  # (S, 3): image, class, pair
        kept = g.op('Gather', selected, g.const([0, 2]), axis=1)  # (S, 2)
        unkept = g.op('ConstantOfShape', g.op('Shape', ranked),
                      value=helper.make_tensor('', TensorProto.FLOAT, [1], [NOT_A_CANDIDATE]))
        ranked = g.op('ScatterND', unkept, kept, g.op('GatherND', ranked, kept))

    num_out = min(settings.max_per_img, num_candidates)
    out_scores, out_index = g.op('TopK', ranked, g.const([num_out]), num_outputs=2, axis=1)
    found = g.op('Greater', out_scores, g.const(NOT_A_CANDIDATE / 2, f32))  # (N, num_out)
    g.op('ReduceSum', g.op('Cast', found, to=TensorProto.INT64), g.const([1]), keepdims=0,
         outputs=[OUTPUT_NAMES[0]])
    extra = settings.max_per_img - num_out
    g.pad_rows(g.op('Where', g.op('Unsqueeze', found, g.const([2])),
                    g.gather_rows(cand_boxes, out_index, 4), g.const(0, f32)),
               3, extra, 0, f32, OUTPUT_NAMES[1])
    g.pad_rows(g.op('Where', found, out_scores, g.const(0, f32)), 2, extra, 0, f32,
               OUTPUT_NAMES[2])
    g.pad_rows(g.op('Where', found, g.op('GatherElements', labels, out_index, axis=1),
                    g.const(-1)), 2, extra, -1, np.int64, OUTPUT_NAMES[3])

    batch = 'batch' if dynamic_batch else 1

    def tensor(name: str, dtype: int, *shape: int) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, dtype, [batch, *shape])

    float32, int64, rows = TensorProto.FLOAT, TensorProto.INT64, settings.max_per_img
    graph = helper.make_graph(
        g.nodes, 'postprocess',
        inputs=[tensor(RAW_NAMES[0], float32, num_priors, 4),
                tensor(RAW_NAMES[1], float32, num_priors),
                tensor(RAW_NAMES[2], float32, num_priors, num_classes)],
        outputs=[tensor(OUTPUT_NAMES[0], int64), tensor(OUTPUT_NAMES[1], float32, rows, 4),
                 tensor(OUTPUT_NAMES[2], float32, rows), tensor(OUTPUT_NAMES[3], int64, rows)],
        initializer=g.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)],
                             ir_version=ir_version)


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


def training_images(config: str, num_images: int,
                    cfg_options: Optional[dict] = None) -> List[str]:
    """Paths of ``num_images`` images spread evenly over the config's
    training set (all of them when it has fewer)."""
    dataset = build_split_dataset(load_config(config, cfg_options), 'train', pipeline=[])
    indices = np.linspace(0, len(dataset) - 1, min(num_images, len(dataset))).round()
    return [dataset.get_data_info(int(index))['img_path'] for index in indices]


class _LetterboxedImages(CalibrationDataReader):
    """Calibration batches of one image each, letterboxed as the runner does."""

    def __init__(self, paths: Sequence[str], preprocess: Preprocess, input_name: str) -> None:
        self._paths = iter(paths)
        self._preprocess = preprocess
        self._input_name = input_name

    def get_next(self) -> Optional[dict]:
        path = next(self._paths, None)
        if path is None:
            return None
        return {self._input_name: to_input([letterbox(read_image(path), self._preprocess).image])}


def fp32_tail_nodes(model: onnx.ModelProto) -> List[str]:
    """Names of the nodes no Conv depends on: the prediction convs, the
    decode and the post-processing, which int8 would make too coarse."""
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    feeds_conv = set()
    for node in reversed(model.graph.node):  # a graph's nodes are in topological order
        if any(user.op_type == 'Conv' or user.name in feeds_conv
               for name in node.output for user in consumers.get(name, ())):
            feeds_conv.add(node.name)
    return [node.name for node in model.graph.node if node.name not in feeds_conv]


def quantize_int8(onnx_file: str, out_file: str, calibration_images: Sequence[str],
                  per_channel: bool = True, reduce_range: bool = True) -> str:
    """Write a statically quantised copy of the exported ``onnx_file``:
    ONNX Runtime's ``quantize_static`` (QDQ format, uint8 activations,
    int8 weights, per output channel with ``per_channel``), activation
    ranges the minimum and maximum over ``calibration_images`` (image files,
    letterboxed as the runner does). The backbone and neck are int8; the
    prediction convs, decode and post-processing stay fp32. The export's
    metadata is kept.

    MinMax calibration keeps two numbers a tensor an image; ONNX Runtime's
    histogram calibrations (entropy, percentile) hold every activation of
    every calibration image in memory, and gave no better mAP on the demo.

    ``reduce_range``: 7-bit weights, which x86 CPUs without VNNI (AVX2,
    AVX-512 before VNNI) need: their uint8 x int8 products saturate 16-bit
    sums otherwise (ONNX Runtime's advice; on the trained demo model, 100
    calibration images, 0.41 KITTI Moderate mAP points below fp32 with it,
    0.73 without, on this AVX2 machine).

    Returns:
        ``out_file``.
    """
    if not calibration_images:
        raise ValueError('quantize_int8 needs at least one calibration image')
    detector = ONNXDetector(onnx_file)
    model = onnx.load(onnx_file)
    quantize_static(
        model, out_file,
        _LetterboxedImages(calibration_images, detector.preprocess, detector.input_name),
        quant_format=QuantFormat.QDQ, op_types_to_quantize=list(INT8_OP_TYPES),
        nodes_to_exclude=fp32_tail_nodes(model), per_channel=per_channel,
        reduce_range=reduce_range, activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    quantized = onnx.load(out_file)
    record = json.loads(next(prop.value for prop in model.metadata_props
                             if prop.key == METADATA_KEY))
    record['int8'] = dict(calibration_images=len(calibration_images), per_channel=per_channel,
                          reduce_range=reduce_range)
    set_export_record(quantized, record)
    onnx.checker.check_model(quantized, full_check=True)
    onnx.save(quantized, out_file)
    return out_file
