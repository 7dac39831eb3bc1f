# A small YOLOv3 that learns the synthetic demo KITTI data (tools/demo.py,
# ``make demo``) on a 2-core CPU in minutes: Darknet-53 at a quarter of the
# width and a third of the depth with the paper's loss, 416 x 128 input (the
# 621 x 188 demo frames at two thirds), anchors fitted to the demo boxes,
# AdamW with a short cosine schedule, mild augmentation (scale jitter, flips).
# Tuning notes: at 320 x 96 the Car AP at IoU 0.7 stayed near 30 % (boxes
# too coarse); a CIoU box loss learnt slower at 416 x 128 in this budget.
_base_ = [
    './_base_/models/yolov3_d53.py', './_base_/datasets/kitti.py',
    './_base_/schedules/cosine_50e.py', './_base_/default_runtime.py'
]

data_root = 'data/demo/kitti/'
img_scale = (416, 128)
widen_factor = 0.25
# python tools/kmeans_anchors.py configs/yolov3_s_kitti_demo.py
# (400 demo frames, seed 0: 1613 boxes, mean best IoU 0.70)
anchors = [[(56, 38), (77, 58), (138, 61)],
           [(15, 42), (35, 24), (27, 60)],
           [(6, 12), (9, 25), (19, 14)]]
model = dict(
    backbone=dict(widen_factor=widen_factor, deepen_factor=0.33),
    neck=dict(widen_factor=widen_factor),
    bbox_head=dict(
        num_classes=3,
        widen_factor=widen_factor,
        prior_generator=dict(anchors=anchors)))

train_pipeline = [
    dict(type='LoadImageFromPackOrFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    # mmdet's RandomResize and RandomFlip as one step (kitti.py's comments)
    dict(type='RandomExpandCropResizeFlip',
         resize=dict(scale=img_scale, ratio_range=(0.8, 1.25), keep_ratio=True),
         flip=dict(prob=0.5)),
    dict(type='PackDetInputsChannelsLast')
]
test_pipeline = [dict(step, scale=img_scale) if step['type'] == 'Resize' else step
                 for step in _base_.test_pipeline]
train_dataloader = dict(
    batch_size=8, num_workers=1, batch_sampler=None,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='KittiMetric'), dict(type='FastCocoMetric')]
test_evaluator = val_evaluator

max_epochs = 12
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.002, weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.02, begin=0, end=max_epochs,
         T_max=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=3)
randomness = dict(seed=0)
auto_scale_lr = dict(base_batch_size=8)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=3, max_keep_ckpts=1, save_best='kitti/mAP_moderate',
                    rule='greater'),
    visualization=dict(interval=1),
    ema=dict(momentum=0.001, gamma=100))
log_processor = dict(window_size=10)
