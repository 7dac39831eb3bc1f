# Input 320 px high instead of 416 (KITTI frames 1060 x 320); the training
# scales and the test-time scales of --tta follow.
_base_ = '../yolov3_kitti.py'

img_scale = (1060, 320)


def _fit(step):
    """``step`` with its resize scale set to ``img_scale``."""
    if step['type'] == 'RandomExpandCropResizeFlip':
        return dict(step, resize=dict(step['resize'], scale=img_scale))
    return dict(step, scale=img_scale) if step['type'] == 'Resize' else step


train_dataloader = dict(dataset=dict(pipeline=[_fit(s) for s in _base_.train_pipeline]))
val_dataloader = test_dataloader = dict(
    dataset=dict(pipeline=[_fit(s) for s in _base_.test_pipeline]))
