"""The ``test_cfg`` post-processing of the head's ``predict_by_feat`` as an
ONNX graph written with ``onnx.helper``: decoded boxes, objectness and class
probabilities in, fixed-size detections out (TopK, NonMaxSuppression,
gathers, a scatter and a last TopK). :func:`yolo_plugin.deploy.export.export_onnx`
appends it to the network's graph.
"""
import warnings
from dataclasses import dataclass, fields
from typing import List, Optional, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Outputs of the network part, inputs of the post-processing part.
RAW_NAMES = ('raw_boxes', 'raw_objectness', 'raw_class_prob')
OUTPUT_NAMES = ('num_dets', 'boxes', 'scores', 'labels')
CANDIDATE_SCORES = ('class_prob', 'score')
# Ranking score of a pair that is no candidate (detection scores are >= 0).
NOT_A_CANDIDATE = -1.0


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
