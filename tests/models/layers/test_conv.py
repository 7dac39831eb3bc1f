"""GemmWeightGradConv2d against nn.Conv2d (PyTorch's own kernels) in float64."""
import contextlib

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import fuse_conv_bn
from mmengine.config import Config
from mmengine.registry import DefaultScope

from yolo_plugin.models.backbones import Darknet53
from yolo_plugin.models.dense_heads import YOLOAnchorHead
from yolo_plugin.models.layers import GemmWeightGradConv2d
from yolo_plugin.models.layers import conv as conv_module
from yolo_plugin.models.necks import YOLOFPNNeck
from yolo_plugin.registry import MODELS

CL = torch.channels_last


def _pair_of_convs(*args, **kwargs):
    reference = nn.Conv2d(*args, **kwargs).double()
    ours = GemmWeightGradConv2d(*args, weight_grad='products', **kwargs).double()
    ours.load_state_dict(reference.state_dict())
    return reference, ours.to(memory_format=CL)


def _forward_backward(conv, x, seed=1):
    """Output and the gradients of input, weight and bias for a random
    upstream gradient; also the autograd node that made the output."""
    x = x.detach().clone().requires_grad_()
    y = conv(x)
    upstream = torch.randn(y.shape, dtype=y.dtype, generator=torch.Generator().manual_seed(seed))
    y.backward(upstream)
    bias_grad = None if conv.bias is None else conv.bias.grad
    return (y.detach(), x.grad, conv.weight.grad, bias_grad), type(y.grad_fn).__name__


# (in, out, kernel, stride, padding, dilation, bias, batch, height, width, products):
# stride 1 on maps where the zero frame adds <= 15 % of rows, with >= 32 input
# channels, takes one product a tap (shifted rows); everything else im2col.
CASES = [
    (32, 7, 3, 1, 1, 1, True, 3, 40, 43, 'shifted_rows'),
    (32, 7, 3, 1, 1, 1, True, 3, 9, 12, 'im2col'),  # the frame adds > 15 % of rows
    (16, 7, 3, 1, 1, 1, False, 2, 40, 43, 'im2col'),  # too few channels
    (8, 7, 3, 2, 1, 1, False, 3, 10, 13, 'im2col'),  # stride 2
    (32, 6, 1, 1, 0, 1, True, 2, 7, 9, 'shifted_rows'),  # 1x1: no frame
    (8, 6, 1, 2, 0, 1, False, 2, 8, 8, 'im2col'),  # 1x1 stride 2
    (32, 6, 3, 1, 2, 2, False, 2, 60, 63, 'shifted_rows'),  # dilated
    (8, 6, 3, 1, 2, 2, False, 2, 11, 14, 'im2col'),  # dilated
    (8, 4, 5, 2, 2, 1, True, 5, 13, 16, 'im2col'),  # 5x5
    (8, 4, (3, 1), (2, 1), (1, 0), 1, True, 2, 8, 11, 'im2col'),  # non-square
    (32, 4, (3, 1), 1, (1, 0), 1, True, 2, 60, 63, 'shifted_rows'),  # non-square
    (32, 4, 3, 1, 0, 1, True, 2, 60, 63, 'shifted_rows'),  # no padding: framed
]


@pytest.mark.parametrize('case', CASES)
def test_gradients_match_nn_conv2d(case, monkeypatch):
    *conv_args, bias, batch, height, width, products = case
    calls = []
    for name, function in (('shifted_rows', conv_module._add_shifted_rows_products),
                           ('im2col', conv_module._add_im2col_product)):

        def spy(*args, name=name, function=function):
            calls.append(name)
            return function(*args)

        monkeypatch.setattr(conv_module, function.__name__, spy)
    reference, ours = _pair_of_convs(*conv_args, bias=bias)
    x = torch.randn(batch, conv_args[0], height, width, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(0))
    expected, reference_node = _forward_backward(reference, x)
    got, our_node = _forward_backward(ours, x.contiguous(memory_format=CL))
    assert reference_node == 'ConvolutionBackward0'
    assert our_node == '_GemmWeightGradConv2dFunctionBackward'
    assert set(calls) == {products}
    for name, want, have in zip(('output', 'input grad', 'weight grad', 'bias grad'), expected,
                                got):
        if want is None:
            assert have is None
            continue
        torch.testing.assert_close(have, want, rtol=1e-10, atol=1e-10, msg=name)
    assert ours.weight.grad.is_contiguous(memory_format=CL)


@pytest.mark.parametrize('stride, size', [(2, 12), (1, 40)], ids=['im2col', 'shifted_rows'])
def test_chunks_of_images_give_the_same_gradient(monkeypatch, stride, size):
    """With a budget below one image, every image is a chunk of its own;
    the sum over chunks is the gradient of the whole batch."""
    reference, ours = _pair_of_convs(32, 5, 3, stride=stride, padding=1, bias=False)
    x = torch.randn(4, 32, size, size, dtype=torch.float64)
    expected, _ = _forward_backward(reference, x)
    monkeypatch.setattr(conv_module, 'CHUNK_ELEMENTS_BUDGET', 1)
    got, _ = _forward_backward(ours, x.contiguous(memory_format=CL))
    torch.testing.assert_close(got[2], expected[2], rtol=1e-10, atol=1e-10)


def test_gradcheck_against_finite_differences():
    _, ours = _pair_of_convs(8, 4, 3, stride=1, padding=1)
    x = torch.randn(2, 8, 5, 5, dtype=torch.float64).contiguous(memory_format=CL)
    weight = ours.weight.detach().clone().requires_grad_()
    bias = ours.bias.detach().clone().requires_grad_()

    def conv(x, weight, bias):
        return ours._conv_forward(x, weight, bias)

    assert torch.autograd.gradcheck(conv, (x.requires_grad_(), weight, bias))


# The context each situation runs in; the others run in none.
SITUATION_CONTEXTS = dict(no_grad=torch.no_grad,
                          autocast=lambda: torch.autocast('cpu', dtype=torch.bfloat16))


@pytest.mark.parametrize('situation',
                         ['nchw', 'no_grad', 'frozen', 'autocast', 'groups', 'rgb_input'])
def test_native_kernels_outside_channels_last_cpu_training(situation):
    """Where the matrix products would not help (or do not apply) the layer
    is exactly nn.Conv2d: PyTorch's own convolution node and the output of
    ``F.conv2d`` in the same context."""
    groups = 2 if situation == 'groups' else 1
    in_channels = 3 if situation == 'rgb_input' else 8
    conv = GemmWeightGradConv2d(in_channels, 6, 3, padding=1, groups=groups, weight_grad='products')
    x = torch.randn(2, in_channels, 8, 8)
    if situation != 'nchw':
        conv = conv.to(memory_format=CL)
        x = x.contiguous(memory_format=CL)
    if situation == 'frozen':
        conv.weight.requires_grad_(False)
        x.requires_grad_()
    with SITUATION_CONTEXTS.get(situation, contextlib.nullcontext)():
        y = conv(x)
        expected = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation,
                            conv.groups)
    node = 'NoneType' if situation == 'no_grad' else 'ConvolutionBackward0'
    assert type(y.grad_fn).__name__ == node
    assert y.dtype == (torch.bfloat16 if situation == 'autocast' else torch.float32)
    torch.testing.assert_close(y, expected)


@pytest.mark.parametrize('capability, products', [('AVX2', True), ('DEFAULT', True),
                                                  ('AVX512', False)])
def test_auto_takes_the_products_where_onednn_is_slower(monkeypatch, capability, products):
    """``'auto'``: products on CPUs without AVX-512 (oneDNN's channels-last
    weight gradient is ``jit:avx2`` there), oneDNN's kernel on AVX-512;
    ``'native'`` never, ``'products'`` always."""
    monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability', lambda: capability)
    x = torch.randn(2, 8, 8, 8).contiguous(memory_format=CL)
    expected = {'auto': products, 'products': True, 'native': False}
    for mode, want_products in expected.items():
        conv = GemmWeightGradConv2d(8, 6, 3, padding=1, weight_grad=mode).to(memory_format=CL)
        node = type(conv(x).grad_fn).__name__
        assert node == ('_GemmWeightGradConv2dFunctionBackward' if want_products else
                        'ConvolutionBackward0'), mode
        assert f"weight_grad='{mode}'" in repr(conv)


def test_unknown_weight_grad_mode_is_an_error():
    with pytest.raises(ValueError, match="weight_grad must be one of .* got 'blas'"):
        GemmWeightGradConv2d(8, 6, 3, weight_grad='blas')


def _convs(module: nn.Module) -> list:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def test_models_default_to_conv2d_and_build_it_from_conv_cfg():
    """Backbone, neck and head are plain nn.Conv2d by default (as mmdet's)
    and GemmWeightGradConv2d with its ``conv_cfg``; the parameters and the
    state dict are those of nn.Conv2d, so checkpoints load either way."""
    gemm = dict(type='GemmWeightGradConv2d')
    for build in (lambda **cfg: Darknet53(widen_factor=0.125, deepen_factor=0.33, **cfg),
                  lambda **cfg: YOLOFPNNeck(widen_factor=0.125, **cfg),
                  lambda **cfg: YOLOAnchorHead(num_classes=3, widen_factor=0.125, **cfg)):
        with DefaultScope.overwrite_default_scope('yolo_plugin'):
            ours = build(conv_cfg=gemm)
        plain = build()
        assert _convs(ours) and all(type(m) is GemmWeightGradConv2d for m in _convs(ours))
        assert all(type(m) is nn.Conv2d for m in _convs(plain))
        assert len(_convs(ours)) == len(_convs(plain))
        plain.load_state_dict(ours.state_dict())


def test_the_base_model_config_switches_it_on():
    """configs/_base_/models/yolov3_d53.py names it for backbone, neck and
    head: every conv of a model built from it is a GemmWeightGradConv2d."""
    cfg = Config.fromfile('configs/_base_/models/yolov3_d53.py').model
    for part in ('backbone', 'neck', 'bbox_head'):
        cfg[part].widen_factor = 0.125
    cfg.backbone.deepen_factor = 0.33
    with DefaultScope.overwrite_default_scope('yolo_plugin'):
        model = MODELS.build(cfg)
    for part in (model.backbone, model.neck, model.bbox_head):
        assert _convs(part) and all(type(m) is GemmWeightGradConv2d for m in _convs(part))


def test_conv_bn_fusion_still_folds_it():
    backbone = Darknet53(widen_factor=0.125, deepen_factor=0.33).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = backbone(x)
        fused = fuse_conv_bn(backbone)
        got = fused(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    for want, have in zip(expected, got):
        torch.testing.assert_close(have, want, rtol=1e-4, atol=1e-4)


def test_traces_see_a_convolution():
    """``torch.jit.trace`` (mmengine's FLOP counter, ONNX export) records
    the convolution, not an opaque Python function."""
    conv = GemmWeightGradConv2d(8, 6, 3, padding=1).to(memory_format=CL)
    x = torch.randn(2, 8, 8, 8).contiguous(memory_format=CL)
    graph = str(torch.jit.trace(conv, x).graph)
    assert 'aten::_convolution' in graph and 'PythonOp' not in graph


def test_darknet_gradients_match_plain_convs():
    """The whole backbone, channels-last, in float64 (in float32 the BN
    gradients of the stem, sums with heavy cancellation, differ by up to
    1e-3 between any two kernel orders): every parameter's gradient as
    with nn.Conv2d."""
    torch.manual_seed(0)
    products = dict(type=GemmWeightGradConv2d, weight_grad='products')
    ours = Darknet53(widen_factor=0.25, deepen_factor=0.33,
                     conv_cfg=products).double().to(memory_format=CL)
    plain = Darknet53(widen_factor=0.25, deepen_factor=0.33, conv_cfg=None).double()
    plain.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 96, 96, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for model, images in ((ours, x.contiguous(memory_format=CL)), (plain, x)):
        sum(out.square().mean() for out in model(images)).backward()
    for (name, mine), theirs in zip(ours.named_parameters(), plain.parameters()):
        error = (mine.grad - theirs.grad).norm() / theirs.grad.norm()
        assert error < 1e-9, name
