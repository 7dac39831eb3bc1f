"""mmdet3d's Python port of the KITTI evaluation, loaded as a single file
(the mmdet3d package itself needs dependencies we do not install), and
random KITTI-like ground truth with perturbed detections."""
import importlib.util
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np

KITTI_TYPES = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting',
               'Cyclist', 'Tram', 'Misc', 'DontCare')
KITTI_TYPE_P = (.3, .08, .04, .2, .05, .15, .03, .05, .1)
CLASSES = ('Car', 'Pedestrian', 'Cyclist')  # the classes detected
# Values at and next to the devkit's difficulty limits: the minimum heights
# (Easy 40 px, Moderate and Hard 25 px) and the maximum truncations (0.15,
# 0.3, 0.5); occlusion levels are whole numbers 0 .. 3 anyway.
BOUNDARY_HEIGHTS = (24, 25, 26, 39, 40, 41)
BOUNDARY_TRUNCATIONS = (0., .15, .16, .3, .31, .5, .51)
BOUNDARY_TRUNCATION_P = (.4, .1, .1, .1, .1, .1, .1)
TALL_HEIGHTS = (60, 90)  # boxes that count at every difficulty


def load_mmdet3d_kitti_eval():
    """The module ``mmdet3d/evaluation/functional/kitti_utils/eval.py``.

    Raises (never skips) when mmdet3d or numba is missing: both are test
    requirements (requirements-test*.txt).
    """
    spec = importlib.util.find_spec('mmdet3d')
    if spec is None or not spec.submodule_search_locations:
        raise ImportError('mmdet3d is not installed: pip install --no-deps '
                          '-r requirements-test-nodeps.txt')
    path = osp.join(spec.submodule_search_locations[0], 'evaluation',
                    'functional', 'kitti_utils', 'eval.py')
    module_spec = importlib.util.spec_from_file_location(
        'mmdet3d_kitti_eval_reference', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)  # imports numba
    return module


def mmdet3d_ap(reference, gt_annos: Sequence[Dict], det_annos: Sequence[Dict],
               classes: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """``(C, 3)`` AP (R40, R11) in percent from mmdet3d's 2D ``bbox`` path,
    for our annotation dicts (see :func:`random_scene`)."""
    gts = [_mmdet3d_anno(anno, with_score=False) for anno in gt_annos]
    dets = [_mmdet3d_anno(anno, with_score=True) for anno in det_annos]
    _, results = reference.kitti_eval(gts, dets, list(classes), ['bbox'])
    ap = {
        points:
        np.array([[
            results[f'KITTI/{name}_2D_AP{points}_{level}_strict']
            for level in ('easy', 'moderate', 'hard')
        ] for name in classes])
        for points in (40, 11)
    }
    return ap[40], ap[11]


def _mmdet3d_anno(anno: Dict, with_score: bool) -> Dict:
    n = len(anno['bboxes'])
    out = dict(
        name=np.asarray(anno['names'], dtype=str).reshape(n),
        bbox=np.asarray(anno['bboxes'], dtype=np.float64).reshape(n, 4),
        # alpha -10: no orientation, so mmdet3d evaluates no AOS.
        alpha=np.full(n, -10.) if with_score else np.zeros(n),
        dimensions=np.zeros((n, 3)),
        location=np.zeros((n, 3)),
        rotation_y=np.zeros(n))
    if with_score:
        out.update(
            truncated=np.zeros(n),
            occluded=np.zeros(n),
            score=np.asarray(anno['scores'], dtype=np.float64))
    else:
        out.update(
            truncated=np.asarray(anno['truncated'], dtype=np.float64),
            occluded=np.asarray(anno['occluded'], dtype=np.int64))
    return out


def random_scene(rng: np.random.Generator,
                 num_images: int,
                 max_objects: int = 12) -> Tuple[List[Dict], List[Dict]]:
    """Random ground truth of all KITTI types (at least one box an image,
    as in KITTI) and detections: jittered, sometimes relabelled, duplicated
    or missing ground truths, plus false positives, some of them inside
    DontCare regions, with random scores.

    Returns:
        ``(gt_annos, det_annos)`` in the format of
        :func:`yolo_plugin.evaluation.functional.kitti_eval`.
    """
    gt_annos, det_annos = [], []
    for _ in range(num_images):
        n = int(rng.integers(1, max_objects + 1))
        names = rng.choice(KITTI_TYPES, n, p=KITTI_TYPE_P)
        boxes = _random_boxes(rng, n)
        dont_care = names == 'DontCare'
        truncated = np.where(dont_care, -1.,
                             rng.choice([0., .1, .15, .2, .3, .4, .6], n))
        occluded = np.where(dont_care, -1, rng.integers(0, 4, n))
        gt_annos.append(
            dict(
                bboxes=boxes,
                names=names,
                truncated=truncated,
                occluded=occluded))

        found = ~dont_care & (rng.random(n) < .85)
        det_boxes = boxes[found] + rng.normal(0, 3, (found.sum(), 4))
        det_names = names[found].copy()
        relabel = rng.random(len(det_names)) < .1
        det_names[relabel] = rng.choice(CLASSES, relabel.sum())
        duplicates = rng.random(len(det_boxes)) < .2
        det_boxes = np.concatenate([
            det_boxes,
            det_boxes[duplicates] + rng.normal(0, 4, (duplicates.sum(), 4))
        ])
        det_names = np.concatenate([det_names, det_names[duplicates]])
        # False positives: random boxes, and boxes inside DontCare regions.
        num_random = int(rng.integers(0, 4))
        inside = boxes[dont_care] + np.array([2., 2., -2., -2.])
        det_boxes = np.concatenate(
            [det_boxes, _random_boxes(rng, num_random), inside])
        det_names = np.concatenate([
            det_names,
            rng.choice(CLASSES, num_random + len(inside))
        ])
        det_boxes[:, 2:] = np.maximum(det_boxes[:, 2:], det_boxes[:, :2] + 1)
        # Found objects score higher than the rest, on average; rounding
        # makes ties.
        num_found = int(found.sum())
        scores = np.concatenate([
            rng.uniform(.3, 1., num_found),
            rng.uniform(0., .8,
                        len(det_boxes) - num_found)
        ]).round(2)
        det_annos.append(
            dict(bboxes=det_boxes, names=det_names, scores=scores))
    return gt_annos, det_annos


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Boxes 15 to 160 px tall (all three difficulty height limits)."""
    heights = rng.uniform(15, 160, n)
    widths = heights * rng.uniform(.4, 2.5, n)
    x1 = rng.uniform(0, 1100, n)
    y1 = rng.uniform(100, 370 - heights)
    return np.stack([x1, y1, x1 + widths, y1 + heights], 1)


def whole_pixel_scene(rng: np.random.Generator,
                      num_images: int) -> Tuple[List[Dict], List[Dict]]:
    """KITTI-like ground truth with whole-pixel boxes, most of them with
    heights and truncations at and next to the difficulty limits
    (:data:`BOUNDARY_HEIGHTS`, :data:`BOUNDARY_TRUNCATIONS`), so that the
    devkit's ``<`` and ``<=`` decide. Detections: the found ground truths
    shifted by whole pixels, their height kept or changed by one pixel,
    sometimes relabelled, plus one to three false positives of boundary
    heights an image.

    Returns:
        ``(gt_annos, det_annos)`` as :func:`random_scene`.
    """
    gt_annos, det_annos = [], []
    for _ in range(num_images):
        n = int(rng.integers(1, 9))
        names = rng.choice(KITTI_TYPES, n, p=KITTI_TYPE_P)
        boxes = _whole_pixel_boxes(rng, rng.choice(BOUNDARY_HEIGHTS + TALL_HEIGHTS, n))
        dont_care = names == 'DontCare'
        truncated = rng.choice(BOUNDARY_TRUNCATIONS, n, p=BOUNDARY_TRUNCATION_P)
        occluded = rng.choice(4, n, p=[.4, .3, .2, .1])
        gt_annos.append(
            dict(bboxes=boxes, names=names, truncated=np.where(dont_care, -1., truncated),
                 occluded=np.where(dont_care, -1, occluded)))

        found = ~dont_care & (rng.random(n) < .85)
        num_found = int(found.sum())
        found_boxes = boxes[found] + np.tile(rng.integers(-2, 3, (num_found, 2)), 2)
        found_boxes[:, 3] += rng.choice([-1, 0, 0, 1], num_found)
        found_names = names[found].copy()
        relabel = rng.random(num_found) < .1
        found_names[relabel] = rng.choice(CLASSES, relabel.sum())
        num_false = int(rng.integers(1, 4))
        false_boxes = _whole_pixel_boxes(rng, rng.choice(BOUNDARY_HEIGHTS, num_false))
        det_annos.append(
            dict(bboxes=np.concatenate([found_boxes, false_boxes]),
                 names=np.concatenate([found_names, rng.choice(CLASSES, num_false)]),
                 scores=np.concatenate([rng.uniform(.3, 1., num_found),
                                        rng.uniform(0., .8, num_false)]).round(2)))
    return gt_annos, det_annos


def _whole_pixel_boxes(rng: np.random.Generator, heights: np.ndarray) -> np.ndarray:
    """Boxes of the given heights with whole-pixel corners."""
    n = len(heights)
    widths = np.round(heights * rng.uniform(.4, 2.5, n))
    x1 = rng.integers(0, 1100, n)
    y1 = rng.integers(100, 330, n)
    return np.stack([x1, y1, x1 + widths, y1 + heights], 1).astype(np.float64)
