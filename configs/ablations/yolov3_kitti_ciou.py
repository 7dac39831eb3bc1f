# CIoU on the decoded boxes instead of the paper's box loss (BCE on the
# cell offsets + squared error of the log sizes); targets and everything
# else as the paper.
_base_ = '../yolov3_kitti.py'

model = dict(
    bbox_head=dict(
        loss_box=dict(type='YOLOIoULoss', mode='ciou', loss_weight=2.0),
        loss_xy=None,
        loss_wh=None))
