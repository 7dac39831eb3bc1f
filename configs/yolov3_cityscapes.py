# YOLOv3 (Darknet-53) on Cityscapes boxes (person, rider, car, truck, bus,
# train, motorcycle, bicycle) at half resolution (1024 x 512), the paper's
# 273-epoch step schedule, Cityscapes-fitted anchors; COCO-style mAP (best
# checkpoint by it).
_base_ = [
    './_base_/models/yolov3_d53.py', './_base_/datasets/cityscapes.py',
    './_base_/schedules/step_273e.py', './_base_/default_runtime.py'
]

# k-means (tools/kmeans_anchors.py: 1 - IoU, 9 clusters) of the 1519 boxes of 300
# Cityscapes-sized (2048 x 1024) synthetic frames (yolo_plugin.datasets.synthetic,
# seed 0) at the input scale 1024 x 512 (mean best IoU 0.61): real Cityscapes
# is not shipped.
# With Cityscapes at hand, refit them:
#   python tools/kmeans_anchors.py configs/yolov3_cityscapes.py
anchors = [[(80, 204), (233, 139), (453, 235)],
           [(55, 35), (36, 94), (124, 77)],
           [(7, 10), (23, 15), (16, 40)]]
# The paper's start: Darknet-53 trained on ImageNet (mmdet's conversion, as in
# mmdet's YOLOv3 configs), downloaded once into torch's hub cache; offline
# see docs/weights.md ("ImageNet backbone for training").
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://darknet53')),
    bbox_head=dict(num_classes=8, prior_generator=dict(anchors=anchors)))

val_evaluator = dict(type='FastCocoMetric')
test_evaluator = val_evaluator
default_hooks = dict(
    checkpoint=dict(save_best='coco/bbox_mAP', rule='greater'))
