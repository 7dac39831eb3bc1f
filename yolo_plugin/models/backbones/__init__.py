from .darknet import Darknet53

__all__ = ['Darknet53']
