"""Pipeline variants for configs: rescale_pipeline (every resize step at a
new input scale) and with_mmdet_transforms (the same augmentations with
mmdet's transforms, against the recipe of tests/.../mmdet_reference.py),
and the configs that use them."""
import pytest
from mmengine.config import Config, ConfigDict

from yolo_plugin.datasets.transforms.pipeline_variants import (rescale_pipeline,
                                                              with_mmdet_transforms)
from .mmdet_reference import DEMO_RECIPE, KITTI_RECIPE

LOADING = [dict(type='LoadImageFromPackOrFile', backend_args=None),
           dict(type='LoadAnnotations', with_bbox=True)]

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomExpandCropResizeFlip', expand=dict(ratio_range=(1, 2)),
         resize=dict(scale=[(780, 240), (1248, 384)], keep_ratio=True), flip=dict(prob=0.5)),
    dict(type='RandomResize', scale=[(624, 192), (1248, 384)], keep_ratio=True),
    dict(type='Resize', scale=(1248, 384), keep_ratio=True),
    dict(type='Pad', size_divisor=32),
]


def test_every_resize_scale_follows_per_axis():
    steps = rescale_pipeline(PIPELINE, (1024, 512), (1248, 384))
    assert steps[1]['resize']['scale'] == [(640, 320), (1024, 512)]
    assert steps[2]['scale'] == [(512, 256), (1024, 512)]
    assert steps[3]['scale'] == (1024, 512)


def test_everything_else_is_kept_and_the_input_untouched():
    steps = rescale_pipeline(PIPELINE, (1024, 512), (1248, 384))
    assert steps[0] == PIPELINE[0] and steps[4] == PIPELINE[4]
    assert steps[1]['expand'] == dict(ratio_range=(1, 2)) and steps[1]['flip'] == dict(prob=0.5)
    assert steps[1]['resize']['keep_ratio'] and steps[3]['keep_ratio']
    assert PIPELINE[3]['scale'] == (1248, 384)
    assert PIPELINE[1]['resize']['scale'] == [(780, 240), (1248, 384)]


def test_a_single_scale_with_a_ratio_range_and_config_dicts():
    """The training resize of yolov3_kitti.py (one scale, a ratio range),
    as a config hands it over (ConfigDicts)."""
    pipeline = [ConfigDict(type='RandomExpandCropResizeFlip',
                           resize=ConfigDict(scale=(1378, 416), ratio_range=(0.77, 1.46)))]
    step, = rescale_pipeline(pipeline, (1060, 320), (1378, 416))
    assert step['resize'] == dict(scale=(1060, 320), ratio_range=(0.77, 1.46))


def resize_scales(pipeline):
    return [step['resize']['scale'] if 'resize' in step else step['scale']
            for step in pipeline if 'resize' in step or step['type'] == 'Resize']


@pytest.mark.parametrize('path, train_scales, test_scale', [
    ('configs/ablations/yolov3_kitti_320.py', [(1060, 320)], (1060, 320)),
    ('configs/ablations/yolov3_kitti_608.py', [(2014, 608)], (2014, 608)),
    # kitti.py's training scales (780 x 240 and 1248 x 384) at Cityscapes' 1024 x 512
    ('configs/yolov3_cityscapes.py', [[(640, 320), (1024, 512)]], (1024, 512)),
])
def test_configs_inherit_their_pipelines_at_their_scale(path, train_scales, test_scale):
    cfg = Config.fromfile(path)
    assert resize_scales(cfg.train_dataloader.dataset.pipeline) == train_scales
    for key in ('val_dataloader', 'test_dataloader'):
        assert resize_scales(cfg[key].dataset.pipeline) == [test_scale]
    assert 'rescale_pipeline' not in cfg  # the function stays out of the config


def test_mmdet_transforms_are_the_mmdet_recipe():
    cfg = Config.fromfile('configs/_base_/datasets/kitti.py')
    assert with_mmdet_transforms(cfg.train_pipeline) == LOADING + KITTI_RECIPE + [
        dict(type='PhotoMetricDistortion'), dict(type='Pad', size_divisor=32),
        dict(type='PackDetInputs')]
    assert with_mmdet_transforms(cfg.train_pipeline, pad_size_divisor=64)[-2] == dict(
        type='Pad', size_divisor=64)
    demo = Config.fromfile('configs/yolov3_s_kitti_demo.py')
    assert with_mmdet_transforms(demo.train_pipeline)[2:] == DEMO_RECIPE + [
        dict(type='Pad', size_divisor=32), dict(type='PackDetInputs')]


def test_mmdet_transforms_keep_each_steps_settings():
    meta_keys = ('img_id', 'img_path', 'scale_factor')
    steps = with_mmdet_transforms([
        dict(type='RandomExpandCropResizeFlip', resize=dict(scale=(416, 128), keep_ratio=True),
             flip=None),
        dict(type='DeferredPhotoMetricDistortion', brightness_delta=16, hue_delta=9),
        dict(type='PackDetInputsChannelsLast', meta_keys=meta_keys)])
    assert steps == [dict(type='RandomResize', scale=(416, 128), keep_ratio=True),
                     dict(type='PhotoMetricDistortion', brightness_delta=16, hue_delta=9),
                     dict(type='Pad', size_divisor=32),
                     dict(type='PackDetInputs', meta_keys=meta_keys)]


def test_ablation_config_is_the_mmdet_form_of_the_recipe():
    ours = Config.fromfile('configs/yolov3_kitti.py')
    theirs = Config.fromfile('configs/ablations/yolov3_kitti_mmdet_pipeline.py')
    assert theirs.train_dataloader.dataset.pipeline == with_mmdet_transforms(
        ours.train_dataloader.dataset.pipeline)
    assert theirs.model.data_preprocessor == dict(
        ours.model.data_preprocessor, type='DetDataPreprocessor')
