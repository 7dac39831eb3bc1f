"""mmdet's inference APIs with our configs and checkpoints: DetInferencer
and init_detector + inference_detector, run as a user runs them (a fresh
process that imports mmdet.apis and nothing of yolo_plugin), give the
detections of ``yolo_plugin.apis.inference`` (``tools/infer.py``)."""
import json
import os.path as osp
import subprocess
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch
from mmdet.apis import DetInferencer, init_detector
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader, save_checkpoint

from tests.test_configs import CONFIGS, narrowed
from yolo_plugin.datasets import KittiDataset
from yolo_plugin.apis.inference import detect, load_detector
from yolo_plugin.registry import MODELS

REPO = Path(__file__).parents[2]
DEMO_CONFIG = str(REPO / 'configs' / 'yolov3_s_kitti_demo.py')
# mmdet's APIs run the model as saved, load_detector with conv + BN fused:
# the largest gaps measured were 1.1e-4 px and 4e-8 in score (the scores of
# the checkpoint below lie at least 1e-5 apart).
BOX_TOLERANCE = 1e-3  # pixels
SCORE_TOLERANCE = 1e-6

# What a user writes: mmdet's APIs only (the config's custom_imports and the
# scope 'yolo_plugin' import yolo_plugin).
USER_SCRIPT = """
import json, sys
import mmcv
import numpy as np
from mmdet.apis import DetInferencer, inference_detector, init_detector
assert 'yolo_plugin' not in sys.modules
config, checkpoint, image, out_dir = sys.argv[1:]

def listed(pred):
    return dict(bboxes=pred.bboxes.tolist(), scores=pred.scores.tolist(),
                labels=pred.labels.tolist())

inferencer = DetInferencer(config, checkpoint, device='cpu', scope='yolo_plugin',
                           show_progress=False)
drawn = inferencer(image, return_vis=True, pred_score_thr=0.0)
blank = inferencer(image, return_vis=True, pred_score_thr=1.0)
np.savez(f'{out_dir}/vis.npz', drawn=drawn['visualization'][0],
         blank=blank['visualization'][0])
model = init_detector(config, checkpoint, device='cpu')
results = dict(
    inferencer=drawn['predictions'][0],
    classes=list(inferencer.model.dataset_meta['classes']),
    image_file=listed(inference_detector(model, image).pred_instances),
    array=listed(inference_detector(model, mmcv.imread(image)).pred_instances))
with open(f'{out_dir}/results.json', 'w') as f:
    json.dump(results, f)
"""


@pytest.fixture(scope='module')
def image(demo_kitti_root) -> str:
    """An unlabelled demo frame (621 x 188)."""
    return osp.join(demo_kitti_root, 'testing', 'image_2', '000000.png')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    """Random weights of the demo config, with random BatchNorm statistics
    (so that fusing them changes the convs), and prediction convs that give
    a few dozen boxes above the score threshold with distinct scores."""
    torch.manual_seed(0)
    init_default_scope('yolo_plugin')
    model = MODELS.build(Config.fromfile(DEMO_CONFIG).model)
    model.init_weights()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    head = model.bbox_head
    for conv in head.pred_convs:
        torch.nn.init.normal_(conv.weight, std=0.08)
        conv.bias.data.view(head.num_base_priors, head.num_attrib)[:, 4] = -7.0
    path = str(tmp_path_factory.mktemp('weights') / 'demo.pth')
    meta = dict(dataset_meta=dict(KittiDataset.METAINFO))
    save_checkpoint(dict(state_dict=model.state_dict(), meta=meta), path)
    return path


@pytest.fixture(scope='module')
def user_results(checkpoint, image, tmp_path_factory) -> dict:
    """The outputs of USER_SCRIPT, run in a fresh process."""
    out_dir = tmp_path_factory.mktemp('user')
    done = subprocess.run(
        [sys.executable, '-c', USER_SCRIPT, DEMO_CONFIG, checkpoint, image, str(out_dir)],
        cwd=str(REPO), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out_dir / 'results.json') as f:
        results = json.load(f)
    results.update(np.load(out_dir / 'vis.npz'))
    return results


@pytest.fixture(scope='module')
def expected(checkpoint, image):
    """Our detections (tools/infer.py's model and pipeline) on ``image``."""
    model = load_detector(DEMO_CONFIG, checkpoint)
    pipeline = Compose(get_test_pipeline_cfg(model.cfg))
    pred = detect(model, pipeline, [image])[0].pred_instances
    assert len(pred) >= 10, 'too few detections to compare'
    return pred


def assert_same_detections(actual: dict, expected) -> None:
    assert actual['labels'] == expected.labels.tolist()
    np.testing.assert_allclose(actual['bboxes'], expected.bboxes.numpy(),
                               rtol=0, atol=BOX_TOLERANCE)
    np.testing.assert_allclose(actual['scores'], expected.scores.numpy(),
                               rtol=0, atol=SCORE_TOLERANCE)


def test_det_inferencer(user_results, expected):
    assert user_results['classes'] == list(KittiDataset.METAINFO['classes'])
    assert_same_detections(user_results['inferencer'], expected)


def test_init_detector_and_inference_detector_on_an_image_file(user_results, expected):
    assert_same_detections(user_results['image_file'], expected)


def test_inference_detector_on_an_array(user_results, expected):
    assert_same_detections(user_results['array'], expected)


def test_det_inferencer_draws_the_detections_above_pred_score_thr(user_results, image):
    original = mmcv.imread(image, channel_order='rgb')
    assert np.array_equal(user_results['blank'], original)
    assert user_results['drawn'].shape == original.shape
    assert not np.array_equal(user_results['drawn'], original)


@pytest.mark.parametrize('path', CONFIGS)
def test_every_config_builds_in_mmdet_apis(path, image, monkeypatch):
    """DetInferencer and init_detector take every config (its network
    narrowed as in test_configs.py) and load no weights, so no pretrained
    backbone is fetched; the inferencer's pipeline gives, from an image file
    or array, the inputs of the test pipeline (tools/infer.py's)."""

    def no_loading(*args, **kwargs):
        raise AssertionError(f'a checkpoint was loaded: {args}')

    monkeypatch.setattr(CheckpointLoader, 'load_checkpoint', no_loading)
    cfg = Config.fromfile(path)
    cfg.model = narrowed(cfg.model)
    with pytest.warns(UserWarning, match='Checkpoint is not loaded'):
        inferencer = DetInferencer(cfg, device='cpu', scope='yolo_plugin', show_progress=False)
    init_detector(cfg, device='cpu')
    expected = Compose(get_test_pipeline_cfg(cfg))(dict(img_path=image))
    for data in (inferencer.pipeline(image), inferencer.pipeline(mmcv.imread(image))):
        assert torch.equal(data['inputs'], expected['inputs'])
        sample = data['data_samples']
        assert sample.ori_shape == (188, 621)
        assert len(sample.gt_instances) == 0 and 'instances' not in sample
