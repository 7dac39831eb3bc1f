"""Data preprocessors of yolo_plugin (mmdet's serve for everything else)."""
from .photometric_data_preprocessor import PhotometricDetDataPreprocessor

__all__ = ['PhotometricDetDataPreprocessor']
