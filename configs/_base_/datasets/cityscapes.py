# Cityscapes boxes read from the raw gtFine polygons (see docs/datasets.md):
# person, rider, car, truck, bus, train, motorcycle, bicycle; crowd
# (``*group``) polygons become ignored instances. Same recipe as kitti.py,
# at Cityscapes' scale; evaluation runs on val (test labels are withheld).
_base_ = ['./kitti.py']

dataset_type = 'CityscapesGtFineDataset'
data_root = 'data/cityscapes/'
# (w, h) pixels: Cityscapes' 2048 x 1024 frames at half size.
img_scale = (1024, 512)


def _rescaled(pipeline, new_scale, old_scale):
    """``pipeline`` with the scales of its resize steps multiplied by
    ``new_scale / old_scale`` (a function does not enter the config)."""

    def fit(scale):
        return (scale[0] * new_scale[0] // old_scale[0],
                scale[1] * new_scale[1] // old_scale[1])

    steps = []
    for step in pipeline:
        if step['type'] == 'Resize':
            step = dict(step, scale=fit(step['scale']))
        elif step['type'] == 'RandomResize':
            step = dict(step, scale=[fit(s) for s in step['scale']])
        elif step['type'] == 'RandomExpandCropResizeFlip':
            resize = step['resize']
            step = dict(
                step,
                resize=dict(resize, scale=[fit(s) for s in resize['scale']]))
        steps.append(step)
    return steps


train_pipeline = _rescaled(_base_.train_pipeline, img_scale, _base_.img_scale)
test_pipeline = _rescaled(_base_.test_pipeline, img_scale, _base_.img_scale)
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# COCO-style box mAP; crowd groups are crowd regions of their class.
val_evaluator = dict(_delete_=True, type='FastCocoMetric')  # replaces kitti.py's list
test_evaluator = val_evaluator
