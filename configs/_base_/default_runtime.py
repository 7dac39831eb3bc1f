# Runtime shared by every config: scope and imports, hooks, logging to the
# terminal, a json log and TensorBoard, and the process environment.
default_scope = 'yolo_plugin'
# Also makes mmdet's own tools/train.py and tools/test.py find our modules.
custom_imports = dict(imports=['yolo_plugin'], allow_failed_imports=False)

# Every hook of the recipe is a named default hook, so that a leaf changes
# one (``default_hooks = dict(ema=dict(momentum=...))``) or drops it
# (``default_hooks = dict(ema=None)``) without restating the others. Hooks
# of equal priority run in this order.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Leaves set save_best to their metric (KITTI: 'kitti/mAP_moderate').
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Draws the predictions of every ``interval``-th validation batch's first
    # image into the vis backends (vis_data/vis_image, TensorBoard).
    visualization=dict(type='mmdet.DetVisualizationHook', draw=True, interval=50),
    # Stops at a NaN / Inf loss before the EMA or a checkpoint keeps it.
    nan_guard=dict(type='NaNGuardHook', priority='VERY_HIGH'),
    # images/s, compute time, the share of the step spent waiting for data
    # and peak memory on every log line; a warning when that share exceeds 10 %.
    throughput=dict(type='ThroughputHook'),
    # mmdet's: stops when the head's num_classes differs from the number of
    # the data set's classes (metainfo), before each train and val epoch.
    num_class_check=dict(type='NumClassCheckHook'),
    # Weights' moving average (YOLOX / mmyolo's); validation, tests and the
    # checkpoints' ``state_dict`` use the averaged weights.
    ema=dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0001,
        gamma=2000,
        update_buffers=True,
        priority=49))
custom_hooks = []

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to 'gloo' where there is no GPU.
    dist_cfg=dict(backend='nccl'))
# SyncBN across GPUs in distributed training: sync_bn = 'torch' (see
# docs/training.md); it needs CUDA.

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(
    type='mmdet.DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
# tools/test.py --tta: mmdet's DetTTAModel merges by NMS the predictions at
# each of tta_scale_ratios times the test pipeline's scale, each with and
# without a horizontal flip. tools/test.py builds that tta_pipeline from the
# config's test pipeline, so it follows the config's input scale; a config
# may give its own tta_pipeline instead.
tta_model = dict(
    type='DetTTAModel',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
tta_scale_ratios = (0.83, 1.0, 1.2)
log_level = 'INFO'
load_from = None
resume = False
