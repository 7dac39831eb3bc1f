# Input 320 px high instead of 416 (KITTI frames 1060 x 320); the training
# scales and the test-time scales of --tta follow.
_base_ = '../yolov3_kitti.py'
# imported after _base_ (mmengine reads a config importing first as a new-style one)
from yolo_plugin.datasets.transforms.pipeline_variants import rescale_pipeline  # noqa: E402

img_scale = (1060, 320)

train_dataloader = dict(dataset=dict(
    pipeline=rescale_pipeline(_base_.train_pipeline, img_scale, _base_.img_scale)))
val_dataloader = test_dataloader = dict(dataset=dict(
    pipeline=rescale_pipeline(_base_.test_pipeline, img_scale, _base_.img_scale)))
