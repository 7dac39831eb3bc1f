"""KITTI object label and result text files, as arrays for
:func:`~.kitti_eval.kitti_eval`.

A line holds: type, truncated, occluded, alpha, box (left top right
bottom, pixels), 3D dimensions (h w l), location (x y z), rotation_y, and in
result files a 16th field, the score.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from yolo_plugin.datasets.bad_samples import read_text
from yolo_plugin.datasets.kitti import KITTI_NUMERIC_FIELDS

#: Values of the fields a 2D detector does not estimate (KITTI's "unknown":
#: truncated, occluded, alpha, dimensions, location, rotation_y).
UNKNOWN_FIELDS = '-1 -1 -10 {} -1 -1 -1 -1000 -1000 -1000 -10'
_FIELD_COLUMN = {name: i for i, name in enumerate(KITTI_NUMERIC_FIELDS)}
_BOX_COLUMNS = [_FIELD_COLUMN[k] for k in ('left', 'top', 'right', 'bottom')]


def read_kitti_file(path: str, with_score: bool) -> Dict[str, np.ndarray]:
    """Read a label file (15 fields a line; a 16th is accepted and dropped)
    or, with ``with_score``, a result file (16 fields).

    Returns:
        ``names`` ``(n,)``, ``bboxes`` ``(n, 4)`` xyxy pixels,
        ``truncated``, ``occluded``, ``alpha`` ``(n,)``, and ``scores``
        ``(n,)`` for result files.

    Raises:
        ValueError: naming the file, line and value of a malformed line.
    """
    rows = [(line_no, line.split())
            for line_no, line in enumerate(read_text(path).split('\n'), 1)
            if line.strip()]
    counts = (16, ) if with_score else (15, 16)
    for line_no, fields in rows:
        if len(fields) not in counts:
            raise ValueError(
                f'{path}:{line_no}: expected {" or ".join(map(str, counts))} '
                f'fields, got {len(fields)}: {" ".join(fields)!r}')
    num_values = 15 if with_score else 14
    text = np.array([fields[1:1 + num_values] for _, fields in rows],
                    dtype=str).reshape(len(rows), num_values)
    values = _to_float(text, path, [line_no for line_no, _ in rows])
    out = dict(
        names=np.array([fields[0] for _, fields in rows], dtype=str),
        bboxes=values[:, _BOX_COLUMNS],
        truncated=values[:, _FIELD_COLUMN['truncated']],
        occluded=values[:, _FIELD_COLUMN['occluded']],
        alpha=values[:, _FIELD_COLUMN['alpha']])
    if with_score:
        out['scores'] = values[:, _FIELD_COLUMN['score']]
    return out


def _to_float(text: np.ndarray, path: str,
              line_numbers: List[int]) -> np.ndarray:
    """``text`` (n, k) -> floats; raises naming the first bad value."""
    try:
        values = text.astype(float)
        bad = np.argwhere(~np.isfinite(values))
    except ValueError:  # locate the text that is not a number
        bad = np.argwhere(~np.vectorize(_is_finite, otypes=[bool])(text))
        values = None
    if len(bad):
        row, column = bad[0]
        raise ValueError(
            f'{path}:{line_numbers[row]}: field '
            f'{KITTI_NUMERIC_FIELDS[column]!r} is not a finite number: '
            f'{str(text[row, column])!r}')
    return values


def _is_finite(text: str) -> bool:
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


def write_kitti_results(path: str, names: Sequence[str], bboxes: np.ndarray,
                        scores: np.ndarray) -> None:
    """Write one frame's detections as a KITTI result file: 16 fields a
    line, unknown 3D fields set to KITTI's -1 / -1000 / -10, score last.

    Args:
        names: ``(n,)`` KITTI type names.
        bboxes: ``(n, 4)`` xyxy pixels.
        scores: ``(n,)``.
    """
    boxes = [' '.join(f'{v:.2f}' for v in box) for box in np.asarray(bboxes)]
    lines = [
        f'{name} {UNKNOWN_FIELDS.format(box)} {score:.6f}\n'
        for name, box, score in zip(names, boxes, np.asarray(scores))
    ]
    with open(path, 'w') as f:
        f.writelines(lines)


def read_kitti_folders(
    label_dir: str,
    result_dir: str,
    frames: Optional[Sequence[str]] = None
) -> Tuple[List[Dict], List[Dict], List[str]]:
    """Labels and results of the frames (default: every label file).

    Returns:
        ``(gt_annos, det_annos, frames)`` for
        :func:`~.kitti_eval.kitti_eval`.

    Raises:
        FileNotFoundError: naming a missing label or result file (the
            devkit needs a result file, possibly empty, for every frame).
    """
    if frames is None:
        frames = sorted(name[:-4] for name in os.listdir(label_dir)
                        if name.endswith('.txt'))
    if not frames:
        raise ValueError(f'{label_dir}: no label files (*.txt) to evaluate')
    gt_annos, det_annos = [], []
    for frame in frames:
        gt_annos.append(
            read_kitti_file(_existing(label_dir, frame, 'label'), False))
        det_annos.append(
            read_kitti_file(_existing(result_dir, frame, 'result'), True))
    return gt_annos, det_annos, list(frames)


def _existing(folder: str, frame: str, kind: str) -> str:
    path = osp.join(folder, f'{frame}.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path}: {kind} file of frame {frame} not '
            'found (every frame needs one, possibly empty)')
    return path
