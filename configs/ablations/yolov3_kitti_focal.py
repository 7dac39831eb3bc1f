# Focal modulation (gamma 1.5, alpha 0.25) of the objectness and class BCE,
# which the YOLOv3 paper reports as a loss of about 2 mAP on COCO.
_base_ = '../yolov3_kitti.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(gamma=1.5, alpha=0.25),
        loss_obj=dict(gamma=1.5, alpha=0.25)))
