"""Synthetic driving-like demo data in the raw KITTI and Cityscapes layouts,
learnable on a CPU in minutes (``tools/make_demo_data.py``, ``make demo``).

- :mod:`.objects`: cars, vans, pedestrians and cyclists drawn into patches;
- :mod:`.scene`: a background and the objects composed far to near, with
  truncation, occlusion and groups of tiny far objects;
- :mod:`.layouts`: scenes written as KITTI or Cityscapes folders.
"""
from .layouts import (CITYSCAPES_DEMO_SIZE, DEMO_FORMATS, KITTI_DEMO_SIZE, MARKER_FILE,
                      cityscapes_objects, kitti_label_lines, make_demo_cityscapes, make_demo_data,
                      make_demo_kitti)
from .scene import Scene, SceneObject, render_scene

__all__ = [
    'CITYSCAPES_DEMO_SIZE', 'DEMO_FORMATS', 'KITTI_DEMO_SIZE', 'MARKER_FILE', 'Scene',
    'SceneObject', 'cityscapes_objects', 'kitti_label_lines', 'make_demo_cityscapes',
    'make_demo_data', 'make_demo_kitti', 'render_scene'
]
