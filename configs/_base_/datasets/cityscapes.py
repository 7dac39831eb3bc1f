# Cityscapes boxes read from the raw gtFine polygons (see docs/datasets.md):
# person, rider, car, truck, bus, train, motorcycle, bicycle; crowd
# (``*group``) polygons become ignored instances. Same recipe as kitti.py,
# at Cityscapes' scale; evaluation runs on val (test labels are withheld).
_base_ = ['./kitti.py']
# imported after _base_ (mmengine reads a config importing first as a new-style one)
from yolo_plugin.datasets.transforms.pipeline_variants import rescale_pipeline  # noqa: E402

dataset_type = 'CityscapesGtFineDataset'
data_root = 'data/cityscapes/'
# (w, h) pixels: Cityscapes' 2048 x 1024 frames at half size.
img_scale = (1024, 512)

train_pipeline = rescale_pipeline(_base_.train_pipeline, img_scale, _base_.img_scale)
test_pipeline = rescale_pipeline(_base_.test_pipeline, img_scale, _base_.img_scale)
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
