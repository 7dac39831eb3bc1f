# Label smoothing (0.1) of the class targets: 1 -> 0.95, 0 -> 0.05.
_base_ = '../yolov3_kitti.py'

model = dict(bbox_head=dict(loss_cls=dict(label_smoothing=0.1)))
