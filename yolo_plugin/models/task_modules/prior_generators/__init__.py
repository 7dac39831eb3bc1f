from .yolo_prior_generator import YOLOPriorGenerator, YOLOPriors

__all__ = ['YOLOPriorGenerator', 'YOLOPriors']
