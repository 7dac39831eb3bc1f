from .yolov3_neck import YOLOFPNNeck

__all__ = ['YOLOFPNNeck']
