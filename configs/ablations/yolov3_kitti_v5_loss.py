# YOLOv5's targets and loss on the YOLOv3 network: box parametrisation 'v5',
# CIoU box loss, IoU objectness targets with level weights, means per level;
# every anchor within a 4x size ratio matches, also in the two nearest
# neighbouring cells. Weights: YOLOv5's box 0.05, obj 1.0, cls 0.5.
_base_ = '../yolov3_kitti.py'

model = dict(
    bbox_head=dict(
        bbox_coder=dict(variant='v5'),
        loss_box=dict(type='YOLOIoULoss', mode='ciou', loss_weight=0.05),
        loss_xy=None,
        loss_wh=None,
        loss_cls=dict(loss_weight=0.5),
        obj_target='iou',
        obj_level_weights=(0.4, 1.0, 4.0),
        loss_reduction='level_mean'),
    train_cfg=dict(
        assigner=dict(match='ratio', neighbor_cells=True, ignore_iou_thr=None)))
