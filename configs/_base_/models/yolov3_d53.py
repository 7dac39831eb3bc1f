# YOLOv3 with Darknet-53, as in the paper (Redmon & Farhadi, 2018), inside
# mmdet's single-stage detector and data preprocessor. ``YOLODetector`` is
# mmdet's ``YOLOV3`` (same modules, same checkpoints) with weights and
# activations in channels-last layout, faster with oneDNN and cuDNN;
# ``channels_last=False`` gives the plain NCHW model.
model = dict(
    type='YOLODetector',
    channels_last=True,
    # mmdet's DetDataPreprocessor (same batch, pad, normalisation) that also
    # takes channels-last uint8 images and applies the photometric
    # distortion the pipeline drew (DeferredPhotoMetricDistortion), batched
    # on the model's device; without the draws it is mmdet's.
    data_preprocessor=dict(
        type='PhotometricDetDataPreprocessor',
        mean=[0, 0, 0],
        std=[255., 255., 255.],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    # conv_cfg: nn.Conv2d whose weight gradient, when training on a CPU
    # without AVX-512 with channels-last tensors, is computed as matrix
    # products (faster than oneDNN's kernel there, BENCHMARKS.md); elsewhere
    # it is nn.Conv2d. conv_cfg=None: plain nn.Conv2d.
    backbone=dict(
        type='Darknet53',
        out_indices=(3, 4, 5),
        conv_cfg=dict(type='GemmWeightGradConv2d')),
    neck=dict(
        type='YOLOFPNNeck',
        conv_cfg=dict(type='GemmWeightGradConv2d'),
        in_channels=(1024, 512, 256),
        out_channels=(512, 256, 128)),
    bbox_head=dict(
        type='YOLOAnchorHead',
        conv_cfg=dict(type='GemmWeightGradConv2d'),
        num_classes=80,
        in_channels=(512, 256, 128),
        out_channels=(1024, 512, 256),
        prior_generator=dict(
            type='YOLOPriorGenerator',
            # (w, h) pixels at 416, stride 32 first: the paper's COCO anchors.
            anchors=[[(116, 90), (156, 198), (373, 326)],
                     [(30, 61), (62, 45), (59, 119)],
                     [(10, 13), (16, 30), (33, 23)]],
            strides=(32, 16, 8)),
        bbox_coder=dict(type='YOLOBoxCoder', variant='v3'),
        loss_cls=dict(type='SigmoidBCELoss', loss_weight=1.0),
        loss_obj=dict(type='SigmoidBCELoss', loss_weight=1.0),
        loss_xy=dict(type='SigmoidBCELoss', loss_weight=2.0),
        loss_wh=dict(type='MSELoss', loss_weight=2.0),
        loss_reduction='image_sum'),
    train_cfg=dict(
        assigner=dict(
            type='YOLOAnchorAssigner',
            match='max_iou',
            ignore_iou_thr=0.5,
            ignore_iof_thr=0.5)),
    # mmdet's YOLOv3 test_cfg (score_thr and nms_pre on the class
    # probability, objectness multiplied afterwards) with the boxes clipped
    # to the image before NMS: the best of the semantics measured on the
    # demo (docs/evaluation.md, "Post-processing").
    test_cfg=dict(
        candidate_score='class_prob',
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        conf_thr=0.005,
        clip_to_image=True,
        nms=dict(type='nms', iou_threshold=0.45),
        max_per_img=100))
