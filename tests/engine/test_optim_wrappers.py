"""BFloat16OptimWrapper: the forward runs in bfloat16 autocast, the head's
losses in fp32, the weights stay fp32, and it learns as fp32
does."""
import copy

import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from tests.models.test_yolov3_detector import build, sample
from yolo_plugin.engine.optim_wrappers import BFloat16OptimWrapper


def tiny_detector_and_batch():
    """A small detector (3 classes) in train mode and a batch of two
    96 x 160 images as a dataloader yields it."""
    torch.manual_seed(0)
    model = build(widen_factor=0.25, deepen_factor=0.33, num_classes=3).train()
    boxes, labels = [[10., 20., 50., 90.], [70., 30., 150., 80.]], [1, 0]
    images = torch.randint(0, 256, (2, 3, 96, 160), dtype=torch.uint8)
    return model, dict(inputs=list(images),
                       data_samples=[sample(96, 160, boxes, labels) for _ in range(2)])


def _wrapper(model, wrapper_type: str, optimizer: str = 'SGD'):
    lr = dict(SGD=0.01, Adam=2e-3)[optimizer]
    cfg = dict(type=wrapper_type, optimizer=dict(type=optimizer, lr=lr))
    with DefaultScope.overwrite_default_scope('yolo_plugin'):
        return build_optim_wrapper(model, cfg)


def test_forward_in_bfloat16_losses_and_weights_in_fp32():
    model, batch = tiny_detector_and_batch()
    wrapper = _wrapper(model, 'BFloat16OptimWrapper')
    assert isinstance(wrapper, BFloat16OptimWrapper)
    data = model.data_preprocessor(batch, True)
    with wrapper.optim_context(model):
        maps, = model(data['inputs'], mode='tensor')
        losses = model.bbox_head.loss_by_feat(
            maps, [s.gt_instances for s in data['data_samples']],
            [s.metainfo for s in data['data_samples']])
    assert all(m.dtype == torch.bfloat16 for m in maps)
    assert all(v.dtype == torch.float32 for v in losses.values())
    model.train_step(batch, wrapper)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_same_losses_to_bfloat16_precision_and_the_loss_falls():
    """The first step's losses equal fp32's to bfloat16 precision; training
    one image for 40 steps in bfloat16 cuts the loss as fp32 does."""
    model, batch = tiny_detector_and_batch()
    twin = copy.deepcopy(model)
    fp32 = model.train_step(batch, _wrapper(model, 'OptimWrapper', 'SGD'))
    wrapper = _wrapper(twin, 'BFloat16OptimWrapper', 'Adam')
    history = [twin.train_step(batch, wrapper) for _ in range(40)]
    # bfloat16 keeps 8 significant bits (relative rounding 2**-9); through
    # ~50 layers the total moves well under 1 %. A component that is a small
    # sum of squared residuals moves more (loss_wh: up to 5 % here, where the
    # CPU emulates bfloat16).
    torch.testing.assert_close(history[0]['loss'], fp32['loss'], rtol=0.01, atol=0)
    for name in fp32:
        torch.testing.assert_close(history[0][name], fp32[name], rtol=0.07, atol=0.01)
    losses = [float(step['loss']) for step in history]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.25 * losses[0]
