from .yolo_anchor_assigner import YOLOAnchorAssigner, YOLOAssignment

__all__ = ['YOLOAnchorAssigner', 'YOLOAssignment']
