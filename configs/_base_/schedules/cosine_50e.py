# A short schedule: SGD with Nesterov momentum, linear warm-up over 500
# iterations, then cosine decay to 5% over 50 epochs (per iteration);
# learning rate 0.01 for a total batch of 64.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=0.01, momentum=0.937, weight_decay=0.0005,
        nesterov=True),
    clip_grad=dict(max_norm=10, norm_type=2))
max_epochs = 50
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(
        type='CosineAnnealingLR',
        eta_min_ratio=0.05,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        convert_to_iter_based=True)
]
# Our loop resumes a mid-epoch checkpoint at the next batch (exact resume).
train_cfg = dict(
    type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=64)
