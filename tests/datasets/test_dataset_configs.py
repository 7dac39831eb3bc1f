"""The base dataset configs: ignored instances survive every transform of
the training pipeline, the test pipeline carries the raw instances, and the
placeholder evaluator really evaluates."""
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from mmengine.registry import TRANSFORMS

from yolo_plugin.apis import build_split_dataset
from yolo_plugin.datasets.transforms.photometric import PHOTOMETRIC_PARAMS_KEY
from yolo_plugin.registry import MODELS

CONFIGS = Path(__file__).parents[2] / 'configs' / '_base_' / 'datasets'


def load_config(name: str, data_root: str) -> Config:
    cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader']['dataset']['data_root'] = data_root
    return cfg


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def synthetic_results():
    """Five boxes on a 120 x 400 image; the label is the box's identity,
    boxes 1 and 3 are ignored."""
    boxes = np.array([[10, 10, 60, 70], [70, 20, 150, 90], [160, 30, 260, 110],
                      [280, 5, 390, 100], [30, 60, 90, 118]], np.float32)
    return dict(
        img=np.random.randint(0, 255, (120, 400, 3), np.uint8),
        img_shape=(120, 400),
        ori_shape=(120, 400),
        gt_bboxes=HorizontalBoxes(boxes),
        gt_bboxes_labels=np.arange(5),
        gt_ignore_flags=np.array([False, True, False, True, False]))


@pytest.mark.parametrize('name', ['kitti', 'cityscapes'])
def test_ignore_flags_survive_every_training_transform(name):
    cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
    steps = [TRANSFORMS.build(t) for t in cfg.train_pipeline[2:]]
    ignored = {1, 3}
    for seed in range(20):
        seed_everything(seed)
        results = synthetic_results()
        for step in steps[:-1]:
            results = step(results)
            labels = results['gt_bboxes_labels'].tolist()
            flags = results['gt_ignore_flags'].tolist()
            assert len(results['gt_bboxes']) == len(labels) == len(flags)
            assert flags == [label in ignored for label in labels]
            h, w = results['img'].shape[:2]
            boxes = results['gt_bboxes'].tensor
            assert (boxes >= 0).all() and (boxes[:, 2] <= w).all() and (
                boxes[:, 3] <= h).all()
        packed = steps[-1](results)['data_samples']
        kept = results['gt_bboxes_labels']
        assert set(packed.ignored_instances.labels.tolist()) == set(
            kept.tolist()) & ignored
        assert set(packed.gt_instances.labels.tolist()) == set(
            kept.tolist()) - ignored


def test_flip_and_resize_move_ignored_boxes_with_the_image():
    results = synthetic_results()
    expected = results['gt_bboxes'].tensor.numpy().copy()
    flip = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0))
    resize = TRANSFORMS.build(
        dict(type='Resize', scale=(200, 200), keep_ratio=True))
    results = resize(flip(results))
    expected[:, [0, 2]] = 400 - expected[:, [2, 0]]
    np.testing.assert_allclose(results['gt_bboxes'].tensor.numpy(),
                               expected * 0.5)
    assert results['gt_ignore_flags'].tolist() == [
        False, True, False, True, False
    ]


def test_kitti_training_samples_carry_ignored_regions(demo_kitti_root):
    """Packed training samples: uint8 images of their own size with the
    photometric draws, which the model's data preprocessor pads to a
    multiple of 32 in the batch."""
    cfg = load_config('kitti', demo_kitti_root)
    dataset = build_split_dataset(cfg, 'train')
    num_ignored = 0
    items = []
    for index in range(len(dataset)):
        seed_everything(index)
        item = dataset[index]
        sample = item['data_samples']
        assert (sample.gt_instances.labels >= 0).all()
        assert (sample.ignored_instances.labels == -1).all()
        num_ignored += len(sample.ignored_instances)
        assert item['inputs'].dtype == torch.uint8
        assert tuple(item['inputs'].shape) == (3, *sample.img_shape)
        assert PHOTOMETRIC_PARAMS_KEY in sample.metainfo
        items.append(item)
    assert num_ignored > 0
    model_cfg = Config.fromfile(str(CONFIGS.parent / 'models' / 'yolov3_d53.py'))
    preprocessor = MODELS.build(model_cfg.model.data_preprocessor)
    batch = preprocessor(pseudo_collate(items[:4]), training=True)['inputs']
    assert batch.shape[2] % 32 == 0 and batch.shape[3] % 32 == 0
    assert batch.shape[2] >= max(item['inputs'].shape[1] for item in items[:4])


def test_test_pipeline_keeps_raw_instances(demo_kitti_root):
    cfg = load_config('kitti', demo_kitti_root)
    dataset = build_split_dataset(cfg, 'val')
    info = dataset.get_data_info(0)
    item = dataset[0]
    sample = item['data_samples']
    assert sample.instances == info['instances']
    assert sample.ori_shape == (188, 621)
    scale = 1248 / 621  # keep ratio into (1248, 384): the width limits
    assert sample.scale_factor == pytest.approx((scale, scale), rel=2e-3)
    assert tuple(item['inputs'].shape[1:]) == (384, 1248)
    # LoadAnnotations after Resize: boxes stay in original pixels.
    valid = [i['bbox'] for i in info['instances'] if i['ignore_flag'] == 0]
    np.testing.assert_allclose(sample.gt_instances.bboxes.tensor.numpy(),
                               np.array(valid).reshape(-1, 4))


def test_placeholder_evaluator_scores_perfect_predictions(demo_kitti_root):
    cfg = load_config('kitti', demo_kitti_root)
    dataset = build_split_dataset(cfg, 'val')
    evaluator = Evaluator(cfg.val_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        valid = [i for i in sample.instances if i['ignore_flag'] == 0]
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor([i['bbox'] for i in valid]).reshape(-1, 4),
            scores=torch.ones(len(valid)),
            labels=torch.tensor([i['bbox_label'] for i in valid],
                                dtype=torch.long))
        evaluator.process([sample])
    metrics = evaluator.evaluate(len(dataset))
    assert metrics['coco/bbox_mAP'] == pytest.approx(1.0)


def test_cityscapes_groups_are_ignored_with_their_class(demo_cityscapes_root):
    cfg = load_config('cityscapes', demo_cityscapes_root)
    dataset = build_split_dataset(cfg, 'val')
    groups = []
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        labels = sample.ignored_instances.labels.tolist()
        groups += labels
        assert sorted(labels) == sorted(
            i['bbox_label'] for i in sample.instances if i['ignore_flag'])
    assert groups and set(groups) <= {0, 2}  # persongroup, cargroup
