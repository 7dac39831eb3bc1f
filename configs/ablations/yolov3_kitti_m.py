# Backbone m: two thirds of Darknet-53's residual blocks and three quarters
# of its channels, neck and head as narrow (l is yolov3_kitti.py); from
# scratch, as the ImageNet weights fit l only.
_base_ = '../yolov3_kitti.py'

model = dict(
    backbone=dict(deepen_factor=0.67, widen_factor=0.75, init_cfg=None),
    neck=dict(widen_factor=0.75),
    bbox_head=dict(widen_factor=0.75))
