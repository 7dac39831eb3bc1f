"""The PyTorch side of the deployment tests: the demo model with random
weights, its detections as ``model.test_step`` gives them, and the
comparison of two sets of detections."""
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from yolo_plugin.registry import MODELS

DEMO_CONFIG = str(Path(__file__).parents[2] / 'configs' / 'yolov3_s_kitti_demo.py')
INPUT_SIZE = (128, 416)  # (H, W) the demo config's test scale, padded to /32


def demo_config(cfg_options: Optional[dict] = None) -> Config:
    cfg = Config.fromfile(DEMO_CONFIG)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope('yolo_plugin')
    return cfg


def random_demo_model(seed: int = 0) -> torch.nn.Module:
    """The demo model with random weights and BatchNorm statistics (so that
    folding them matters), and prediction biases of 0 (objectness and class
    probabilities around 0.5 instead of the init's rare-object prior):
    thousands of candidates, and NMS with work to do."""
    torch.manual_seed(seed)
    model = MODELS.build(demo_config().model)
    model.init_weights()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.8, 1.2)
                module.bias.uniform_(-0.1, 0.1)
        for conv in model.bbox_head.pred_convs:
            conv.bias.zero_()
    return model.eval()


def load_demo_model(checkpoint: str, cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """The demo config's model (not fused) with ``checkpoint``'s weights."""
    model = MODELS.build(demo_config(cfg_options).model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    return model.eval()


def reference_detections(model: torch.nn.Module,
                         images_bgr: Sequence[np.ndarray]) -> List[Dict[str, np.ndarray]]:
    """``model.test_step`` on ``(H, W, 3)`` uint8 BGR images that are the
    input already (scale factor 1, image = input size): per image
    ``boxes (n, 4)``, ``scores (n,)``, ``labels (n,)``."""
    shape = images_bgr[0].shape[:2]
    batch = dict(
        inputs=[torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
                for image in images_bgr],
        data_samples=[DetDataSample(metainfo=dict(img_shape=shape, ori_shape=shape,
                                                  pad_shape=shape, scale_factor=(1.0, 1.0)))
                      for _ in images_bgr])
    with torch.no_grad():
        return [as_arrays(sample) for sample in model.test_step(batch)]


def pipeline_detections(model: torch.nn.Module, cfg: Config,
                        image_paths: Sequence[str]) -> List[Dict[str, np.ndarray]]:
    """The path of ``tools/infer.py`` (mmdet's ``inference_detector``): the
    config's test pipeline on the files, one batch, ``model.test_step``;
    boxes in original-image pixels."""
    pipeline = Compose(get_test_pipeline_cfg(cfg))
    batch = pseudo_collate([pipeline(dict(img_path=path)) for path in image_paths])
    with torch.no_grad():
        return [as_arrays(sample) for sample in model.test_step(batch)]


def as_arrays(sample: DetDataSample) -> Dict[str, np.ndarray]:
    pred = sample.pred_instances
    return dict(boxes=pred.bboxes.numpy(), scores=pred.scores.numpy(),
                labels=pred.labels.numpy())


def compare_detections(expected: Dict[str, np.ndarray], actual: Dict[str, np.ndarray],
                       box_tol: float, score_tol: float) -> Dict[str, float]:
    """Assert that ``actual`` holds the detections of ``expected``: the
    same count, and each expected detection paired with an actual one of
    its own, of the same label, box corners within ``box_tol`` and score
    within ``score_tol``. Pairs are found greedily by the nearest box and
    score (scores equal up to rounding may come in either order; degenerate
    boxes may repeat). Returns the largest gaps of the pairs."""
    count = len(expected['scores'])
    assert len(actual['scores']) == count, (len(actual['scores']), count)
    box_gap = np.abs(expected['boxes'][:, None] - actual['boxes'][None]).max(-1)  # (n, n)
    score_gap = np.abs(expected['scores'][:, None] - actual['scores'][None])
    cost = np.maximum(box_gap / box_tol, score_gap / score_tol)
    cost[expected['labels'][:, None] != actual['labels'][None]] = np.inf
    gaps = dict(box=0.0, score=0.0)
    for index in range(count):
        pair = int(cost[index].argmin())
        assert cost[index, pair] <= 1, (
            f'detection {index} (label {expected["labels"][index]}, score '
            f'{expected["scores"][index]:.6f}, box {expected["boxes"][index]}) unmatched: '
            f'nearest box gap {box_gap[index, pair]:.3g}, score gap {score_gap[index, pair]:.3g}')
        cost[:, pair] = np.inf
        gaps = dict(box=max(gaps['box'], float(box_gap[index, pair])),
                    score=max(gaps['score'], float(score_gap[index, pair])))
    return gaps


def box_iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``(n, m)`` IoU of xyxy boxes ``(n, 4)`` and ``(m, 4)``."""
    top_left = np.maximum(boxes[:, None, :2], others[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], others[None, :, 2:])
    inter = (bottom_right - top_left).clip(min=0).prod(-1)
    area = (boxes[:, 2:] - boxes[:, :2]).prod(-1)
    other_area = (others[:, 2:] - others[:, :2]).prod(-1)
    return inter / np.maximum(area[:, None] + other_area[None] - inter, 1e-9)


def count_matched(expected: Dict[str, np.ndarray], actual: Dict[str, np.ndarray],
                  min_iou: float = 0.99, score_tol: float = 1e-3) -> Tuple[int, int]:
    """``(matched, total)``: detections of ``expected`` paired one to one,
    best first, with one of ``actual`` of the same label, IoU >= ``min_iou``
    and score within ``score_tol``; ``total`` counts the larger set, so an
    extra detection on either side is unmatched."""
    overlap = box_iou(expected['boxes'], actual['boxes'])
    overlap[expected['labels'][:, None] != actual['labels'][None]] = 0
    overlap[np.abs(expected['scores'][:, None] - actual['scores'][None]) > score_tol] = 0
    matched = 0
    for index in np.argsort(-expected['scores'], kind='stable'):
        pair = int(overlap[index].argmax()) if overlap.shape[1] else -1
        if pair >= 0 and overlap[index, pair] >= min_iou:
            matched += 1
            overlap[:, pair] = 0
    return matched, max(len(expected['scores']), len(actual['scores']))
