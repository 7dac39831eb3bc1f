"""Shared exports of the deployment tests: the demo model with random
weights as a checkpoint, exported once with a dynamic batch and once with a
fixed one, under different ``test_cfg`` semantics."""
import pytest
import torch

from .pytorch_reference import DEMO_CONFIG, random_demo_model

# Exported with --dynamic-batch: mmdet's candidate semantics, no clipping,
# nms_pre below the 3276 x 3 (box, class) pairs.
DYNAMIC_TEST_CFG = {
    'model.test_cfg.candidate_score': 'class_prob',
    'model.test_cfg.clip_to_image': False,
    'model.test_cfg.nms_pre': 1500,
    'model.test_cfg.score_thr': 0.05,
}
# Exported with a fixed batch: candidates by detection score, clipping,
# objectness threshold and box size check, a binding max_per_img.
STATIC_TEST_CFG = {
    'model.test_cfg.candidate_score': 'score',
    'model.test_cfg.clip_to_image': True,
    'model.test_cfg.conf_thr': 0.1,
    'model.test_cfg.min_bbox_size': 0,
    'model.test_cfg.max_per_img': 30,
}


@pytest.fixture(scope='session')
def demo_checkpoint(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('deploy') / 'random_demo.pth'
    torch.save(dict(state_dict=random_demo_model().state_dict(),
                    meta=dict(dataset_meta=dict(classes=('Car', 'Pedestrian', 'Cyclist')))),
               path)
    return str(path)


def export_demo(checkpoint: str, out_file: str, **kwargs) -> str:
    """``export_onnx`` of the demo config, imported here: without the deploy
    extra the test modules skip before any fixture runs."""
    from yolo_plugin.deploy.export import export_onnx
    return export_onnx(DEMO_CONFIG, checkpoint, out_file, **kwargs)


@pytest.fixture(scope='session')
def dynamic_export(demo_checkpoint, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp('deploy') / 'dynamic.onnx'
    return export_demo(demo_checkpoint, str(out), dynamic_batch=True,
                       cfg_options=DYNAMIC_TEST_CFG)


@pytest.fixture(scope='session')
def static_export(demo_checkpoint, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp('deploy') / 'static.onnx'
    return export_demo(demo_checkpoint, str(out), cfg_options=STATIC_TEST_CFG)
