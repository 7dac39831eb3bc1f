"""Metrics registered in ``yolo_plugin.registry.METRICS``."""
from .fast_coco_metric import FastCocoMetric
from .kitti_metric import KittiMetric

__all__ = ['FastCocoMetric', 'KittiMetric']
