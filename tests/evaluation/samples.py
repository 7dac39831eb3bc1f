"""Data samples as the test loop hands them to metrics, and detections
made from a dataset's ground truth."""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData


def data_sample(data_info: Dict, bboxes: np.ndarray, scores: np.ndarray,
                labels: np.ndarray) -> DetDataSample:
    """A DetDataSample with the meta keys of our test pipelines
    (``instances`` included) and predictions in original-image pixels."""
    sample = DetDataSample(
        metainfo=dict(
            img_id=data_info['img_id'],
            img_path=data_info['img_path'],
            ori_shape=(data_info['height'], data_info['width']),
            instances=data_info['instances']))
    sample.pred_instances = InstanceData(
        bboxes=torch.as_tensor(
            np.reshape(bboxes, (-1, 4)), dtype=torch.float32),
        scores=torch.as_tensor(scores, dtype=torch.float32),
        labels=torch.as_tensor(labels, dtype=torch.int64))
    return sample


def perturbed_detections(data_list: Sequence[Dict], num_classes: int,
                         seed: int) -> List[Dict]:
    """Detections from the ground truth of each image: labelled instances
    jittered by a few pixels (some dropped, some relabelled) and random
    false positives, scores on a 1e-4 grid, boxes on a 0.01 px grid (what
    KITTI result files keep)."""
    rng = np.random.default_rng(seed)
    detections = []
    for info in data_list:
        boxes = np.array([i['bbox'] for i in info['instances']],
                         float).reshape(-1, 4)
        labels = np.array([i['bbox_label'] for i in info['instances']], int)
        keep = (labels >= 0) & (rng.random(len(labels)) < .9)
        boxes = boxes[keep] + rng.normal(0, 1.5, (keep.sum(), 4))
        labels = labels[keep]
        relabel = rng.random(len(labels)) < .1
        labels[relabel] = rng.integers(0, num_classes, relabel.sum())
        num_false = int(rng.integers(0, 4))
        corner = rng.uniform(0, [info['width'] - 60, info['height'] - 60],
                             (num_false, 2))
        false_boxes = np.concatenate(
            [corner, corner + rng.uniform(10, 60, (num_false, 2))], 1)
        boxes = np.concatenate([boxes, false_boxes]).round(2)
        scores = np.concatenate(
            [rng.uniform(.4, 1., len(labels)),
             rng.uniform(0, .6, num_false)]).round(4)
        labels = np.concatenate(
            [labels, rng.integers(0, num_classes, num_false)])
        detections.append(dict(bboxes=boxes, scores=scores, labels=labels))
    return detections


def samples_for(data_list: Sequence[Dict],
                detections: Sequence[Dict]) -> List[DetDataSample]:
    return [
        data_sample(info, det['bboxes'], det['scores'], det['labels'])
        for info, det in zip(data_list, detections)
    ]


def data_list_of(dataset) -> List[Dict]:
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def perfect_detections(data_list: Sequence[Dict]) -> List[Dict]:
    """A detection exactly on every instance that is not ignored, scores
    decreasing within the image."""
    detections = []
    for info in data_list:
        kept = [i for i in info['instances'] if not i['ignore_flag']]
        detections.append(
            dict(
                bboxes=[i['bbox'] for i in kept],
                labels=[i['bbox_label'] for i in kept],
                scores=np.linspace(1, .5, len(kept))))
    return detections


def random_image(rng: np.random.Generator, num_classes: int, max_objects: int,
                 max_detections: int, extent: float,
                 sizes: Tuple[float, float], jitter: float):
    """Random instances (labelled, ignored with a label, and unlabelled
    with label -1) in ``extent`` x ``extent`` pixels, and detections near
    them (mostly of their class) or anywhere.

    Returns:
        ``(instances, detections)``: mmdet instance dicts, and a dict of
        ``bboxes``, ``scores``, ``labels`` arrays.
    """
    n = int(rng.integers(0, max_objects + 1))
    corner = rng.uniform(0, extent, (n, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(*sizes, (n, 2))], 1)
    labels = rng.integers(-1, num_classes, n)
    ignored = (labels < 0) | (rng.random(n) < .1)
    instances = [
        dict(bbox=box.tolist(), bbox_label=int(label), ignore_flag=int(flag))
        for box, label, flag in zip(boxes, labels, ignored)
    ]
    m = int(rng.integers(0, max_detections + 1))
    if n:
        source = rng.integers(0, n, m)
        det_boxes = boxes[source] + rng.normal(0, jitter, (m, 4))
        own_class = rng.random(m) < .8
        det_labels = np.where(own_class, np.maximum(labels[source], 0),
                              rng.integers(0, num_classes, m))
    else:
        det_boxes = rng.uniform(0, extent, (m, 4))
        det_labels = rng.integers(0, num_classes, m)
    det_boxes[:, 2:] = np.maximum(det_boxes[:, 2:], det_boxes[:, :2] + 1)
    return instances, dict(
        bboxes=det_boxes.astype(np.float32),
        scores=rng.random(m).astype(np.float32),
        labels=det_labels)
