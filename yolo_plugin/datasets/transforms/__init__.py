"""Data transforms of yolo_plugin (mmdet's serve for everything else)."""
from .loading import LoadImageFromPackOrFile

__all__ = ['LoadImageFromPackOrFile']
