"""KITTI object label and result text files (the format of
:mod:`yolo_plugin.datasets.kitti_format`) as arrays for
:func:`~.kitti_eval.kitti_eval`."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from yolo_plugin.datasets.kitti_format import (LABEL_FIELDS, RESULT_FIELDS, format_kitti_line,
                                               iter_kitti_lines, write_kitti_file)

BOX_FIELDS = ('left', 'top', 'right', 'bottom')


def read_kitti_file(path: str, with_score: bool) -> Dict[str, np.ndarray]:
    """Read a label file (15 fields a line; a 16th is accepted and dropped)
    or, with ``with_score``, a result file (16 fields).

    Returns:
        ``names`` ``(n,)``, ``bboxes`` ``(n, 4)`` xyxy pixels,
        ``truncated``, ``occluded``, ``alpha`` ``(n,)``, and ``scores``
        ``(n,)`` for result files.

    Raises:
        BadSampleError: a ``ValueError`` naming the file, line and value of
            a malformed line.
    """
    lines = list(iter_kitti_lines(path, RESULT_FIELDS if with_score else LABEL_FIELDS))

    def column(*names: str) -> np.ndarray:
        return np.array([[line.values[name] for name in names] for line in lines],
                        dtype=float).reshape(len(lines), len(names))

    out = dict(
        names=np.array([line.fields[0] for line in lines], dtype=str),
        bboxes=column(*BOX_FIELDS),
        truncated=column('truncated')[:, 0],
        occluded=column('occluded')[:, 0],
        alpha=column('alpha')[:, 0])
    if with_score:
        out['scores'] = column('score')[:, 0]
    return out


def write_kitti_results(path: str, names: Sequence[str], bboxes: np.ndarray,
                        scores: np.ndarray) -> None:
    """Write one frame's detections as a KITTI result file: 16 fields a
    line, unknown 3D fields set to KITTI's -1 / -1000 / -10, score last.

    Args:
        names: ``(n,)`` KITTI type names.
        bboxes: ``(n, 4)`` xyxy pixels.
        scores: ``(n,)``.
    """
    write_kitti_file(path, [
        format_kitti_line(name, box, score=score)
        for name, box, score in zip(names, np.asarray(bboxes), np.asarray(scores))
    ])


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
