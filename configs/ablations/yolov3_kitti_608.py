# Input 608 px high instead of 416 (KITTI frames 2014 x 608); the training
# scales and the test-time scales of --tta follow.
_base_ = '../yolov3_kitti.py'

img_scale = (2014, 608)
_fit = lambda steps: [dict(s, scale=img_scale) if 'Resize' in s['type'] else s for s in steps]
train_dataloader = dict(dataset=dict(pipeline=_fit(_base_.train_pipeline)))
val_dataloader = test_dataloader = dict(dataset=dict(pipeline=_fit(_base_.test_pipeline)))
