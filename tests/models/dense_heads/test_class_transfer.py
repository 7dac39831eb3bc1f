"""Fine-tuning to another class set: 80-class weights into a 3-class model
through every loading path keep all matching tensors and each anchor's box
and objectness outputs, and re-initialise only the class outputs."""
import pytest
import torch
from mmengine.runner import Runner, load_checkpoint, save_checkpoint

import yolo_plugin.models.dense_heads.class_transfer as class_transfer
from tests.converters.conftest import NARROW, model_config
from yolo_plugin.apis import build_detector
from yolo_plugin.models.utils import prior_prob_logit

NUM_ANCHORS = 3
SOURCE_CLASSES, TARGET_CLASSES = 80, 3


@pytest.fixture
def transfer_log(monkeypatch):
    """The messages class transfer sends to mmengine's current logger."""
    messages = []
    real_print_log = class_transfer.print_log

    def record(msg, logger=None, level=None):
        assert logger == 'current'
        messages.append(msg)
        real_print_log(msg, logger=logger, level=level)

    monkeypatch.setattr(class_transfer, 'print_log', record)
    return messages


@pytest.fixture(scope='module')
def coco_checkpoint(tmp_path_factory):
    """A randomly initialised 80-class model saved as a checkpoint."""
    torch.manual_seed(0)
    source = build_detector(model_config(NARROW, SOURCE_CLASSES))
    state_dict = {k: torch.randn_like(v) if v.is_floating_point() else v
                  for k, v in source.state_dict().items()}
    path = tmp_path_factory.mktemp('coco') / 'coco.pth'
    save_checkpoint(dict(meta=dict(), state_dict=state_dict), str(path))
    return str(path), state_dict


def load_with_checkpoint(path, tmp_path):
    detector = build_detector(model_config(NARROW, TARGET_CLASSES))
    load_checkpoint(detector, path, map_location='cpu')
    return detector


def load_with_torch(path, tmp_path):
    detector = build_detector(model_config(NARROW, TARGET_CLASSES))
    detector.load_state_dict(torch.load(path, weights_only=True)['state_dict'], strict=True)
    return detector


def load_with_init_cfg(path, tmp_path):
    cfg = model_config(NARROW, TARGET_CLASSES)
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=path)
    detector = build_detector(cfg)
    detector.init_weights()
    return detector


def load_with_load_from(path, tmp_path):
    runner = Runner(model=model_config(NARROW, TARGET_CLASSES).model, work_dir=str(tmp_path),
                    load_from=path, default_scope='yolo_plugin',
                    env_cfg=dict(dist_cfg=dict(backend='gloo')))
    runner.load_or_resume()
    return runner.model


@pytest.mark.parametrize('load', [load_with_checkpoint, load_with_torch, load_with_init_cfg,
                                  load_with_load_from])
def test_class_rows_reinitialised_rest_kept(load, coco_checkpoint, tmp_path, transfer_log):
    path, source = coco_checkpoint
    detector = load(path, tmp_path)
    target = detector.state_dict()

    heads = {f'bbox_head.pred_convs.{level}.{p}' for level in range(3) for p in ('weight', 'bias')}
    for key, value in target.items():
        if key not in heads:
            assert torch.equal(value, source[key]), key
    for level in range(3):
        name = f'bbox_head.pred_convs.{level}'
        weight = target[f'{name}.weight'].flatten(1).view(NUM_ANCHORS, 5 + TARGET_CLASSES, -1)
        bias = target[f'{name}.bias'].view(NUM_ANCHORS, 5 + TARGET_CLASSES)
        src_weight = source[f'{name}.weight'].flatten(1).view(NUM_ANCHORS, 5 + SOURCE_CLASSES, -1)
        src_bias = source[f'{name}.bias'].view(NUM_ANCHORS, 5 + SOURCE_CLASSES)
        assert torch.equal(weight[:, :5], src_weight[:, :5])
        assert torch.equal(bias[:, :5], src_bias[:, :5])
        # Class rows as YOLOAnchorHead.init_weights: Normal(0, 0.01), logit(1 / K).
        assert torch.equal(bias[:, 5:], torch.full_like(bias[:, 5:],
                                                        prior_prob_logit(1 / TARGET_CLASSES)))
        assert 0.005 < weight[:, 5:].std() < 0.02 and weight[:, 5:].abs().max() < 0.1

    assert len(transfer_log) == 1 and '\n' not in transfer_log[0]
    assert '80 -> 3 classes' in transfer_log[0]
    assert all(f'bbox_head.pred_convs.{level}.weight/.bias' in transfer_log[0]
               for level in range(3))


def test_same_class_count_loads_unchanged(coco_checkpoint, transfer_log):
    path, source = coco_checkpoint
    detector = build_detector(model_config(NARROW, SOURCE_CLASSES))
    load_checkpoint(detector, path, strict=True)
    assert all(torch.equal(v, source[k]) for k, v in detector.state_dict().items())
    assert transfer_log == []


def test_other_anchor_count_is_a_size_mismatch(coco_checkpoint):
    """Only the class count is adapted; 4 anchors a level cannot be."""
    path, _ = coco_checkpoint
    cfg = model_config(NARROW, TARGET_CLASSES)
    cfg.model.bbox_head.prior_generator.anchors = [[(10, 10)] * 4] * 3
    detector = build_detector(cfg)
    with pytest.raises(RuntimeError, match='size mismatch'):
        load_checkpoint(detector, path, strict=True)
