# The YOLOv3 paper's schedule as mmdet trains it: SGD, 273 epochs, linear
# warm-up over 2000 iterations, learning rate / 10 at epochs 218 and 246;
# learning rate 0.001 for a total batch of 64 (--auto-scale-lr rescales it).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0005),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2000),
    dict(type='MultiStepLR', by_epoch=True, milestones=[218, 246], gamma=0.1)
]
# Our loop resumes a mid-epoch checkpoint at the next batch (exact resume).
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=273, val_interval=7)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=64)
