# KITTI 2D detection read from its raw layout (see docs/datasets.md).
#
# ``data_root`` and ``img_scale`` are top-level variables, but mmengine
# evaluates a base file before its children: a leaf config that changes
# them must also restate what is built from them, e.g.
#   data_root = 'data/demo/kitti/'
#   train_dataloader = dict(dataset=dict(data_root=data_root))
#   val_dataloader = dict(dataset=dict(data_root=data_root))
#   test_dataloader = val_dataloader
# A leaf may derive the pipelines from ``_base_.train_pipeline`` and
# ``_base_.test_pipeline`` (bound while it is read), as cityscapes.py does
# for its ``img_scale``.
dataset_type = 'KittiDataset'
data_root = 'data/kitti/'
# (w, h) pixels the images are fitted into keeping their aspect ratio:
# KITTI's 1242 x 375 frames become 1248 x 377, padded to 1248 x 384.
img_scale = (1248, 384)
backend_args = None

# YOLOv3 recipe of mmdet: zoom out (Expand), crop (MinIoURandomCrop),
# multi-scale resize, flip, photometric distortion, pad; here in its fast
# form, the same random draws and outputs (docs/training.md, "The training
# data pipeline"): RandomExpandCropResizeFlip is mmdet's Expand,
# MinIoURandomCrop, RandomResize and RandomFlip with one copy and one
# resize; DeferredPhotoMetricDistortion draws PhotoMetricDistortion's
# parameters, which the model's PhotometricDetDataPreprocessor applies to
# the batch (on the GPU when training there), and which also pads it;
# PackDetInputsChannelsLast packs the uint8 image without a copy. mmdet's
# own transforms: configs/ablations/yolov3_kitti_mmdet_pipeline.py.
# Ignored instances (DontCare, classes outside the set) travel along as
# gt_ignore_flags and end in data_samples.ignored_instances.
# LoadImageFromPackOrFile reads the pack or the file, and reports a missing
# or damaged image as a bad sample (skipped with on_bad_sample='skip').
train_pipeline = [
    dict(type='LoadImageFromPackOrFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomExpandCropResizeFlip',
        expand=dict(mean=[0, 0, 0], to_rgb=True, ratio_range=(1, 2)),
        min_iou_crop=dict(
            min_ious=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9), min_crop_size=0.3),
        resize=dict(
            scale=[(img_scale[0] * 5 // 8, img_scale[1] * 5 // 8),
                   img_scale],
            keep_ratio=True),
        flip=dict(prob=0.5)),
    dict(type='DeferredPhotoMetricDistortion'),
    dict(type='PackDetInputsChannelsLast')
]
# ``instances`` in the meta keys: metrics read the raw ground truth
# (original-image pixels, KITTI fields) from the data samples. mmcv's
# LoadImageFromFile, as mmdet's inference APIs expect; a dataset with a
# ``packed_file`` reads the pack instead (LoadImageFromPackOrFile).
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size_divisor=32),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction', 'instances'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The official KITTI 2D protocol (kitti/mAP_moderate, the headline) and
# COCO-style box mAP, both from the data samples' ``instances`` (no json
# file; DontCare and other ignored instances as the protocols want them).
val_evaluator = [dict(type='KittiMetric'), dict(type='FastCocoMetric')]
test_evaluator = val_evaluator
