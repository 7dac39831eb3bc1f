# yolov3_kitti.py with mmdet's own transforms in place of the fast training
# pipeline, for comparison (docs/training.md, "The training data pipeline"):
# the same augmentations, drawn the same way, at a fifth of the pipeline's speed
# (BENCHMARKS.md, "Training data pipeline").
# Expand, MinIoURandomCrop, RandomResize, RandomFlip, PhotoMetricDistortion
# and Pad on each image in the dataloader's workers, PackDetInputs, mmdet's
# DetDataPreprocessor. The same lines over '../yolov3_cityscapes.py' (or any
# config of ours) give its mmdet form.
_base_ = '../yolov3_kitti.py'
# imported after _base_ (mmengine reads a config importing first as a new-style one)
from yolo_plugin.datasets.transforms.pipeline_variants import with_mmdet_transforms  # noqa: E402,E501

train_dataloader = dict(dataset=dict(pipeline=with_mmdet_transforms(_base_.train_pipeline)))
model = dict(data_preprocessor=dict(type='DetDataPreprocessor'))
