from .yolo_box_coder import YOLOBoxCoder

__all__ = ['YOLOBoxCoder']
