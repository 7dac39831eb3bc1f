"""Evaluation: the KITTI 2D protocol, COCO box AP on faster-coco-eval, and
analysis of saved predictions."""
from .metrics import FastCocoMetric, KittiMetric

__all__ = ['FastCocoMetric', 'KittiMetric']
