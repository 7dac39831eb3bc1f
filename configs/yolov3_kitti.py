# YOLOv3 (Darknet-53) on KITTI 2D detection (Car, Pedestrian, Cyclist) with
# the paper's recipe: input 416 px high (KITTI's 1242 x 375 frames become
# 1378 x 416), multi-scale training from 320 to 608 px, the 273-epoch step
# schedule, KITTI-fitted anchors. Evaluated with the KITTI metric (best
# checkpoint by Moderate mAP) and COCO-style mAP.
_base_ = [
    './_base_/models/yolov3_d53.py', './_base_/datasets/kitti.py',
    './_base_/schedules/step_273e.py', './_base_/default_runtime.py'
]

img_scale = (1378, 416)  # (w, h): the paper's 416 as the image height
# k-means (tools/kmeans_anchors.py: 1 - IoU, 9 clusters) of the 2161 boxes of
# 500 KITTI-sized (1242 x 375) synthetic frames (yolo_plugin.datasets.synthetic,
# seed 0), at this input scale (mean best IoU 0.65): real KITTI is not shipped.
# With KITTI at hand, refit them:
#   python tools/kmeans_anchors.py configs/yolov3_kitti.py
anchors = [[(86, 202), (251, 176), (449, 202)],
           [(77, 54), (45, 128), (151, 105)],
           [(12, 22), (39, 26), (22, 61)]]
# The paper's start: Darknet-53 trained on ImageNet (mmdet's conversion, as in
# mmdet's YOLOv3 configs), downloaded once into torch's hub cache; offline
# see docs/weights.md ("ImageNet backbone for training").
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://darknet53')),
    bbox_head=dict(num_classes=3, prior_generator=dict(anchors=anchors)))

# Multi-scale training: each image resized to 320 .. 608 px high.
train_pipeline = [
    dict(step, resize=dict(step['resize'], scale=img_scale,
                           ratio_range=(320 / 416, 608 / 416)))
    if step['type'] == 'RandomExpandCropResizeFlip' else step
    for step in _base_.train_pipeline
]
test_pipeline = [
    dict(step, scale=img_scale) if step['type'] == 'Resize' else step
    for step in _base_.test_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [dict(type='KittiMetric'), dict(type='FastCocoMetric')]
test_evaluator = val_evaluator
default_hooks = dict(
    checkpoint=dict(save_best='kitti/mAP_moderate', rule='greater'))
