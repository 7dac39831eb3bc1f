"""Evaluation protocols as functions of arrays: KITTI 2D AP, COCO box AP,
box overlaps and KITTI text files."""
from .box_overlaps import box_overlaps
from .padding import pad_by_image
from .coco_eval import (COCO_BACKENDS, STAT_NAMES, CocoEvalResult,
                        coco_detections, coco_ground_truth, evaluate_coco_bbox,
                        summarize_coco)
from .kitti_eval import (DEFAULT_MIN_OVERLAPS, DIFFICULTIES, KittiEvalResult,
                         kitti_eval)
from .kitti_files import (read_kitti_file, read_kitti_folders,
                          write_kitti_results)

__all__ = [
    'box_overlaps', 'pad_by_image', 'COCO_BACKENDS', 'STAT_NAMES',
    'CocoEvalResult', 'coco_detections', 'coco_ground_truth',
    'evaluate_coco_bbox', 'summarize_coco', 'DEFAULT_MIN_OVERLAPS',
    'DIFFICULTIES', 'KittiEvalResult', 'kitti_eval', 'read_kitti_file',
    'read_kitti_folders', 'write_kitti_results'
]
