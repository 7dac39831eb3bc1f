# Backbone s: a third of Darknet-53's residual blocks and half its channels,
# neck and head as narrow (l, the full network, is yolov3_kitti.py); from
# scratch, as the ImageNet weights fit l only.
_base_ = '../yolov3_kitti.py'

model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.5, init_cfg=None),
    neck=dict(widen_factor=0.5),
    bbox_head=dict(widen_factor=0.5))
