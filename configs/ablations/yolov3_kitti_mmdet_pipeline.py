# yolov3_kitti.py with mmdet's own transforms in place of the fast training
# pipeline, for comparison (docs/training.md, "The training data pipeline"):
# the same augmentations, drawn the same way, at a fifth of the pipeline's speed
# (BENCHMARKS.md, "Training data pipeline").
# Expand, MinIoURandomCrop, RandomResize, RandomFlip, PhotoMetricDistortion
# and Pad on each image in the dataloader's workers, PackDetInputs, mmdet's
# DetDataPreprocessor. The same lines over '../yolov3_cityscapes.py' (or any
# config of ours) give its mmdet form.
_base_ = '../yolov3_kitti.py'


def _mmdet_steps(step):
    """mmdet's transforms for one step of our training pipeline."""
    if step['type'] == 'RandomExpandCropResizeFlip':
        kinds = dict(expand='Expand', min_iou_crop='MinIoURandomCrop',
                     resize='RandomResize', flip='RandomFlip')
        return [dict(step[key], type=kind) for key, kind in kinds.items()
                if step.get(key) is not None]
    if step['type'] == 'DeferredPhotoMetricDistortion':
        return [dict(step, type='PhotoMetricDistortion')]
    if step['type'] == 'PackDetInputsChannelsLast':
        return [dict(type='Pad', size_divisor=32), dict(step, type='PackDetInputs')]
    return [step]


train_dataloader = dict(dataset=dict(
    pipeline=[s for step in _base_.train_pipeline for s in _mmdet_steps(step)]))
model = dict(data_preprocessor=dict(type='DetDataPreprocessor'))
