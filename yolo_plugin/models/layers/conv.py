"""``GemmWeightGradConv2d``: a Conv2d whose weight gradient on the CPU, for
channels-last input, is computed as explicit matrix products (GEMMs).

oneDNN's weight-gradient kernel for channels-last (NHWC) float32 tensors
is the slowest part of a CPU training step: on an AVX2 CPU it takes about
twice the time of the forward convolution of the same FLOPs. Written out,
the weight gradient of a convolution is a sum of matrix products over the
kernel taps ``(i, j)``,

    dW[co, ci, i, j] = sum over (b, y, x) of
                       dY[b, y, x, co] * Xpad[b, y*s + i*d, x*s + j*d, ci],

which BLAS runs close to the CPU's peak. Two ways to lay the products out:

- shifted rows (stride 1): in the padded NHWC input flattened to rows
  ``(b, y, x)``, tap ``(i, j)`` is the same matrix shifted by
  ``i*d*Wp + j*d`` rows, so each tap is one product with no copy of the
  input, against the output gradient framed to the padded size (zeros at
  the borders). Best on large maps, where the frame adds few rows.
- im2col (any stride): the ``k*k`` strided views of the padded input
  concatenated along channels, one product for all taps; the copy costs
  ``k*k`` times the input but the product is wider. Best on small maps.

Over Darknet-53's convs at 320 px the weight gradients take about 60 % of
oneDNN's time on an AVX2 CPU (see BENCHMARKS.md). On CPUs with AVX-512,
oneDNN has a direct channels-last weight-gradient kernel
(``jit:avx512_core``) that runs near the CPU's peak and beats the products
(1.2x to 3x over the same convs), so there the layer keeps it: see
:func:`products_beat_onednn`.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from yolo_plugin.registry import MODELS

# Most elements of one chunk's padded input or im2col patch matrix (64 MiB
# of float32); the batch is split into chunks of images to stay below it,
# which also keeps the im2col products faster than one over the whole batch.
CHUNK_ELEMENTS_BUDGET = 1 << 24
# Shifted rows are used while the zero frame adds at most this fraction of
# rows to the products (maps of about 30 px and more for a 3x3 kernel) and
# the products are wide enough to run fast (at least this many channels).
MAX_FRAME_OVERHEAD = 0.15
MIN_SHIFTED_ROWS_CHANNELS = 32
# Convs with fewer input channels (an RGB stem) keep oneDNN's kernel, which
# is faster there than either layout of products.
MIN_IN_CHANNELS = 8

# The CPU capability (``torch.backends.cpu.get_cpu_capability()``; CPUs with
# AMX report it too) on which oneDNN's own channels-last weight gradient is
# the faster one.
ONEDNN_FAST_NHWC_WEIGHT_GRAD = 'AVX512'
WEIGHT_GRAD_MODES = ('auto', 'products', 'native')

_Pair = Tuple[int, int]


def products_beat_onednn() -> bool:
    """Whether the matrix products are the faster channels-last weight
    gradient on this CPU: yes where oneDNN's kernel for it is ``jit:avx2``
    (AVX2 CPUs, about half the speed of its forward convolution), no on
    CPUs with AVX-512 (a direct kernel near the CPU's peak)."""
    capability = torch.backends.cpu.get_cpu_capability()
    return not capability.startswith(ONEDNN_FAST_NHWC_WEIGHT_GRAD)


def conv2d_weight_grad_nhwc(grad_output: torch.Tensor, input: torch.Tensor,
                            kernel_size: _Pair, stride: _Pair, padding: _Pair,
                            dilation: _Pair) -> torch.Tensor:
    """Gradient of an ungrouped ``conv2d``'s weight as matrix products.

    Args:
        grad_output: ``(B, Co, Ho, Wo)``, any layout (channels-last avoids
            a copy).
        input: ``(B, Ci, H, W)``, the conv's input (channels-last avoids a
            copy).
        kernel_size, stride, padding, dilation: of the conv, ``(h, w)``.

    Returns:
        ``(Co, Ci, kh, kw)`` in channels-last layout.
    """
    grad_nhwc = grad_output.permute(0, 2, 3, 1)  # (B, Ho, Wo, Co)
    input_nhwc = input.permute(0, 2, 3, 1)  # (B, H, W, Ci)
    (batch, out_h, out_w, out_channels), in_channels = grad_nhwc.shape, input_nhwc.shape[-1]
    (kh, kw), (ph, pw) = kernel_size, padding
    padded_rows = (input_nhwc.shape[1] + 2 * ph) * (input_nhwc.shape[2] + 2 * pw)
    if (stride == (1, 1) and in_channels >= MIN_SHIFTED_ROWS_CHANNELS
            and padded_rows <= (1 + MAX_FRAME_OVERHEAD) * out_h * out_w):
        accumulate, image_elements = _add_shifted_rows_products, padded_rows * in_channels
    else:
        accumulate, image_elements = _add_im2col_product, out_h * out_w * kh * kw * in_channels
    images_per_chunk = max(1, CHUNK_ELEMENTS_BUDGET // image_elements)
    grad_weight = grad_nhwc.new_zeros(out_channels, kh, kw, in_channels)
    for start in range(0, batch, images_per_chunk):  # chunks of images: bounds the memory
        images = input_nhwc[start:start + images_per_chunk]
        if ph or pw:
            images = F.pad(images, (0, 0, pw, pw, ph, ph))
        accumulate(grad_weight, grad_nhwc[start:start + images_per_chunk], images, stride,
                   dilation)
    return grad_weight.permute(0, 3, 1, 2)  # (Co, kh, kw, Ci) memory: channels-last


def _add_shifted_rows_products(grad_weight: torch.Tensor, grad_nhwc: torch.Tensor,
                               padded: torch.Tensor, stride: _Pair, dilation: _Pair) -> None:
    """Add the stride-1 weight gradient of ``n`` images to ``grad_weight``
    ``(Co, kh, kw, Ci)``, one product a tap. ``grad_nhwc``: ``(n, Ho, Wo,
    Co)``; ``padded``: ``(n, Hp, Wp, Ci)``."""
    num_images, out_h, out_w, out_channels = grad_nhwc.shape
    _, padded_h, padded_w, in_channels = padded.shape
    rows = padded.reshape(-1, in_channels)  # (n*Hp*Wp, Ci)
    if (padded_h, padded_w) == (out_h, out_w):
        framed = grad_nhwc.reshape(-1, out_channels)  # a 1x1 kernel: no frame
    else:
        framed = grad_nhwc.new_zeros(num_images, padded_h, padded_w, out_channels)
        framed[:, :out_h, :out_w] = grad_nhwc
        framed = framed.view(-1, out_channels)  # (n*Hp*Wp, Co)
    _, kh, kw, _ = grad_weight.shape
    num_rows = rows.shape[0]
    for i in range(kh):  # kernel taps, not data
        for j in range(kw):
            shift = i * dilation[0] * padded_w + j * dilation[1]
            grad_weight[:, i, j].addmm_(framed[:num_rows - shift].t(), rows[shift:])


def _add_im2col_product(grad_weight: torch.Tensor, grad_nhwc: torch.Tensor,
                        padded: torch.Tensor, stride: _Pair, dilation: _Pair) -> None:
    """Add the weight gradient of ``n`` images to ``grad_weight`` ``(Co, kh,
    kw, Ci)`` as one product of the output gradient with im2col patches.
    ``grad_nhwc``: ``(n, Ho, Wo, Co)``; ``padded``: ``(n, Hp, Wp, Ci)``."""
    out_channels, kh, kw, in_channels = grad_weight.shape
    patches = _patches(padded, (kh, kw), grad_nhwc.shape[1:3], stride, dilation)
    grad_weight.view(out_channels, -1).addmm_(grad_nhwc.reshape(-1, out_channels).t(), patches)


def _patches(images: torch.Tensor, kernel_size: _Pair, out_size: _Pair, stride: _Pair,
             dilation: _Pair) -> torch.Tensor:
    """``(n, Hp, Wp, Ci)`` padded NHWC images -> ``(n*Ho*Wo, kh*kw*Ci)``,
    row ``(b, y, x)`` holding the input under every kernel tap of output
    pixel ``(y, x)``, taps in ``(i, j)`` order, channels innermost."""
    (kh, kw), (out_h, out_w) = kernel_size, out_size
    (sh, sw), (dh, dw) = stride, dilation
    taps = [
        images[:, i * dh:i * dh + sh * (out_h - 1) + 1:sh, j * dw:j * dw + sw * (out_w - 1) + 1:sw]
        for i in range(kh) for j in range(kw)
    ]
    return torch.cat(taps, dim=-1).reshape(-1, kh * kw * images.shape[-1])


class _GemmWeightGradConv2dFunction(torch.autograd.Function):
    """``F.conv2d`` (ungrouped, zero padding) whose backward takes the
    weight gradient from :func:`conv2d_weight_grad_nhwc` and the input
    gradient from the native kernel."""

    @staticmethod
    def forward(ctx, input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                stride: _Pair, padding: _Pair, dilation: _Pair) -> torch.Tensor:
        ctx.save_for_backward(input, weight)
        ctx.conv_args = (stride, padding, dilation)
        return F.conv2d(input, weight, bias, stride, padding, dilation)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        input, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.conv_args
        need_input, need_weight, need_bias = ctx.needs_input_grad[:3]
        grads: List[Optional[torch.Tensor]] = [None] * 6
        if need_input:
            grads[0] = torch.ops.aten.convolution_backward(
                grad_output, input, weight, None, stride, padding, dilation, False, (0, 0), 1,
                (True, False, False))[0]
        if need_weight:
            grads[1] = conv2d_weight_grad_nhwc(grad_output, input, weight.shape[2:], stride,
                                               padding, dilation)
        if need_bias:
            grads[2] = grad_output.sum((0, 2, 3))
        return tuple(grads)


@MODELS.register_module()
class GemmWeightGradConv2d(nn.Conv2d):
    """``nn.Conv2d`` that, training on the CPU with channels-last float
    inputs, computes its weight gradient as explicit matrix products
    (:func:`conv2d_weight_grad_nhwc`); same forward, same input gradient
    (the native kernel), same parameters and state dict. Everywhere else
    (GPU, NCHW input, no gradient, autocast, groups, non-zero padding modes,
    fewer than ``MIN_IN_CHANNELS`` input channels, ``torch.jit`` tracing) it
    is ``nn.Conv2d``. A config switches it on with
    ``conv_cfg=dict(type='GemmWeightGradConv2d')`` (as
    ``configs/_base_/models/yolov3_d53.py`` does); the modules default to
    ``nn.Conv2d``.

    Args:
        *args, **kwargs: those of ``nn.Conv2d``.
        weight_grad: ``'auto'`` (the products where
            :func:`products_beat_onednn`, decided when the layer is built),
            ``'products'`` or ``'native'`` (always ``nn.Conv2d``'s kernels).
    """

    def __init__(self, *args, weight_grad: str = 'auto', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if weight_grad not in WEIGHT_GRAD_MODES:
            raise ValueError(f'GemmWeightGradConv2d: weight_grad must be one of '
                             f'{WEIGHT_GRAD_MODES}, got {weight_grad!r}')
        self.weight_grad = weight_grad
        self.use_products = (weight_grad == 'products'
                             or (weight_grad == 'auto' and products_beat_onednn()))

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, weight_grad={self.weight_grad!r}'

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        if self._gemm_weight_grad(input, weight):
            return _GemmWeightGradConv2dFunction.apply(input, weight, bias, self.stride, self.padding,
                                               self.dilation)
        return super()._conv_forward(input, weight, bias)

    def _gemm_weight_grad(self, input: torch.Tensor, weight: torch.Tensor) -> bool:
        return (self.use_products and weight.requires_grad and torch.is_grad_enabled()
                and not torch.jit.is_tracing()  # traces (FLOP counts, export) see the conv
                and self.in_channels >= MIN_IN_CHANNELS
                and input.device.type == 'cpu'
                and input.dtype in (torch.float32, torch.float64)
                and not torch.is_autocast_enabled('cpu')
                and input.dim() == 4
                and input.is_contiguous(memory_format=torch.channels_last)
                and self.groups == 1 and self.padding_mode == 'zeros'
                and isinstance(self.padding, tuple))
