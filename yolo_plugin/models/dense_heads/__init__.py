from .yolov3_head import YOLOAnchorHead

__all__ = ['YOLOAnchorHead']
