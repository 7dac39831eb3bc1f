"""mmdet's Expand, MinIoURandomCrop, RandomResize and RandomFlip as one
transform: the same random draws, rendered with one copy and one resize.

mmdet's chain copies the image into a zoomed-out canvas, crops a view of
it, resizes the crop and flips a view, which a later step copies again.
Composed, the four steps are a window of the source image (partly outside
it where the canvas shows its fill colour) and a scale:
:class:`RandomExpandCropResizeFlip` draws the window with exactly mmdet's
draws (same numpy calls in the same order, so a seed gives mmdet's
parameters), copies the visible part of the window once into a
fill-coloured window (no copy when the window lies inside the image),
resizes it with the ``cv2.resize`` call mmcv makes and flips the result in
place. The boxes go through mmdet's float32 operations in mmdet's order,
so that they come out bit for bit as mmdet's.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.image.geometric import cv2_interp_codes
from mmcv.transforms import BaseTransform
from mmdet.structures.bbox import HorizontalBoxes

from yolo_plugin.registry import TRANSFORMS

# Keys mmdet's four transforms would also move, which this one does not.
UNSUPPORTED_KEYS = ('gt_masks', 'gt_seg_map', 'gt_keypoints')
# MinIoURandomCrop's retries of one min-IoU mode before it draws another.
CROP_TRIES_PER_MODE = 50
# MinIoURandomCrop's mode that keeps the image whole.
NO_CROP_MODE = 1
# The IoU denominator floor of mmdet's bbox_overlaps (float32).
IOU_EPS = np.float32(1e-6)
# Relative margin under which an IoU bound rejects a crop without the exact
# float32 IoU (whose rounding error is below 1e-6 relative).
IOU_BOUND_MARGIN = 1e-4


@dataclass(frozen=True)
class ExpandSettings:
    """mmdet ``Expand``'s arguments and defaults: the image lands at a
    random place of a canvas ``ratio`` times its size (ratio uniform in
    ``ratio_range``) filled with ``mean`` (given RGB when ``to_rgb``),
    with probability ``prob``."""
    mean: Sequence[float] = (0, 0, 0)
    to_rgb: bool = True
    ratio_range: Tuple[float, float] = (1, 4)
    prob: float = 0.5


@dataclass(frozen=True)
class MinIoUCropSettings:
    """mmdet ``MinIoURandomCrop``'s arguments and defaults."""
    min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9)
    min_crop_size: float = 0.3
    bbox_clip_border: bool = True


@dataclass(frozen=True)
class ResizeSettings:
    """mmcv ``RandomResize``'s arguments with those of the mmdet
    ``Resize`` it builds, and their defaults. ``scale``: two (w, h) px
    bounds, each edge drawn as an integer between them; or, with
    ``ratio_range``, one (w, h) multiplied by a ratio drawn in it."""
    scale: Sequence
    ratio_range: Optional[Tuple[float, float]] = None
    keep_ratio: bool = False
    clip_object_border: bool = True
    interpolation: str = 'bilinear'


@dataclass(frozen=True)
class FlipSettings:
    """mmdet ``RandomFlip``'s arguments: flip with probability ``prob``;
    only the horizontal direction is supported here."""
    prob: float
    direction: str = 'horizontal'


@dataclass(frozen=True)
class GeometricParams:
    """The draws of one :class:`RandomExpandCropResizeFlip` call.

    Attributes:
        canvas_size: (w, h) px of Expand's canvas; the image's size when
            Expand did not fire.
        image_offset: (x, y) px of the image's top-left corner in the
            canvas; (0, 0) without Expand.
        crop_min_iou: the min-IoU mode MinIoURandomCrop drew; None when it
            drew "no crop" (or has no step).
        crop_window: (x0, y0, x1, y1) int px of the crop in the canvas, x1
            and y1 exclusive; the whole canvas when not cropped.
        kept_boxes: (N,) bool, the boxes kept by the crop (centre strictly
            inside the window); all True when not cropped.
        scale: the (w, h) px target RandomResize drew.
        output_size: (w, h) px of the output image.
        flip: whether the output is flipped horizontally.
    """
    canvas_size: Tuple[int, int]
    image_offset: Tuple[int, int]
    crop_min_iou: Optional[float]
    crop_window: Tuple[int, int, int, int]
    kept_boxes: np.ndarray
    scale: Tuple[int, int]
    output_size: Tuple[int, int]
    flip: bool

    @property
    def crop_size(self) -> Tuple[int, int]:
        """(w, h) px of the crop window, the image that is resized."""
        x0, y0, x1, y1 = self.crop_window
        return x1 - x0, y1 - y0

    @property
    def scale_factor(self) -> Tuple[float, float]:
        """(w, h) output px per crop px, as mmcv's Resize reports it."""
        crop_w, crop_h = self.crop_size
        return self.output_size[0] / crop_w, self.output_size[1] / crop_h


def _settings(cls, value, key: str):
    """``cls(**value)``, or None for None; a wrong argument names ``key``."""
    if value is None:
        return None
    try:
        return cls(**value)
    except TypeError as err:
        raise TypeError(f'RandomExpandCropResizeFlip: {key}: {err}') from err


def _is_size(value) -> bool:
    """Whether ``value`` is a (w, h) pair of ints."""
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(side, int) for side in value))


class _CropCheck:
    """MinIoURandomCrop's test of a crop window against fixed boxes.

    Args:
        boxes: (N, 4) float32 boxes, x1 y1 x2 y2 px in the canvas.
    """

    def __init__(self, boxes: np.ndarray) -> None:
        self.boxes = boxes
        self.areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        self.centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        # Exact in float64 for float32 corners: the IoU bound's inputs.
        self.area_range = (float(self.areas.astype(np.float64).min()),
                           float(self.areas.astype(np.float64).max())
                           ) if len(boxes) else None

    def kept_boxes(self, window: Tuple[int, int, int, int],
                   min_iou: float) -> Optional[np.ndarray]:
        """The (N,) bool mask of the boxes the int window (x0, y0, x1, y1)
        keeps (centre strictly inside), or None where mmdet rejects the
        window: a box's IoU with it below ``min_iou``, or no box kept.
        Without boxes every window passes."""
        if len(self.boxes) == 0:
            return np.ones(0, bool)
        if min_iou > 0 and self._smallest_iou_below(window, min_iou):
            return None
        centres = self.centres
        kept = ((centres[:, 0] > window[0]) & (centres[:, 1] > window[1]) &
                (centres[:, 0] < window[2]) & (centres[:, 1] < window[3]))
        return kept if kept.any() else None

    def _smallest_iou_below(self, window: Tuple[int, int, int, int],
                            min_iou: float) -> bool:
        """Whether some box's IoU with the window is below ``min_iou``, as
        mmdet decides it (float32 IoU against the float64 threshold); a
        cheap bound decides first where it can."""
        x0, y0, x1, y1 = window
        window_area = float((x1 - x0) * (y1 - y0))
        # Two boxes' IoU is at most the smaller area over the larger; over
        # the boxes, this ratio is smallest for the smallest or the
        # largest box.
        bound = min(min(area, window_area) / max(area, window_area)
                    for area in self.area_range)
        if bound < min_iou * (1 - IOU_BOUND_MARGIN):
            return True
        return float(self._ious(window).min()) < min_iou

    def _ious(self, window: Tuple[int, int, int, int]) -> np.ndarray:
        """(N,) float32 IoU of the window with the boxes, in the float32
        operations of mmdet's ``bbox_overlaps`` (its decisions depend on
        the rounding)."""
        boxes = self.boxes
        x0, y0, x1, y1 = np.asarray(window, np.float32)
        window_area = (x1 - x0) * (y1 - y0)
        overlap_w = np.maximum(
            np.minimum(x1, boxes[:, 2]) - np.maximum(x0, boxes[:, 0]), 0)
        overlap_h = np.maximum(
            np.minimum(y1, boxes[:, 3]) - np.maximum(y0, boxes[:, 1]), 0)
        overlap = overlap_w * overlap_h
        union = np.maximum(window_area + self.areas - overlap, IOU_EPS)
        return overlap / union


@TRANSFORMS.register_module()
class RandomExpandCropResizeFlip(BaseTransform):
    """mmdet's ``Expand``, ``MinIoURandomCrop``, ``RandomResize`` (with
    mmdet's ``Resize``) and ``RandomFlip``, in this order, as one step.

    Each argument takes the settings of the mmdet transform it stands for,
    with that transform's defaults; None leaves the step out. Given the
    same numpy global random state, the output equals mmdet's chain:
    image, boxes and every key below (tests/datasets/transforms/
    test_geometric.py). mmdet's own draws are kept with their quirks:
    Expand fires with ``prob``; MinIoURandomCrop passes numpy's ``uniform``
    only a lower bound, so a window's left (top) edge is uniform between
    ``w - crop_w`` and 1, not between 0 and ``w - crop_w``; its min-IoU test
    and its keep rule (centre strictly inside the window) cover every box,
    ignored ones included.

    Required keys: ``img`` ((H, W, C) uint8), ``gt_bboxes``
    (``HorizontalBoxes`` or (N, 4) float32 array, x1 y1 x2 y2 px).
    Modified keys: ``img`` (a new C-contiguous array, never a view of the
    input), ``img_shape``, ``gt_bboxes``, ``gt_bboxes_labels`` and
    ``gt_ignore_flags`` (when present). Added keys: ``scale``,
    ``scale_factor``, ``keep_ratio``, ``flip``, ``flip_direction`` (as
    mmdet's) and ``geometric_params`` (:class:`GeometricParams`).
    Unlike mmdet's Resize and RandomFlip it records no
    ``homography_matrix`` (theirs would leave Expand and the crop out).

    Args:
        resize: ``RandomResize`` and ``Resize`` settings
            (:class:`ResizeSettings`); required.
        expand: ``Expand`` settings (:class:`ExpandSettings`).
        min_iou_crop: ``MinIoURandomCrop`` settings
            (:class:`MinIoUCropSettings`).
        flip: ``RandomFlip`` settings (:class:`FlipSettings`).
    """

    def __init__(self,
                 resize: dict,
                 expand: Optional[dict] = None,
                 min_iou_crop: Optional[dict] = None,
                 flip: Optional[dict] = None) -> None:
        self.resize = _settings(ResizeSettings, resize, 'resize')
        self.expand = _settings(ExpandSettings, expand, 'expand')
        self.min_iou_crop = _settings(MinIoUCropSettings, min_iou_crop,
                                      'min_iou_crop')
        self.flip = _settings(FlipSettings, flip, 'flip')
        if self.resize.interpolation not in cv2_interp_codes:
            raise ValueError(
                f"resize['interpolation']: {self.resize.interpolation!r} "
                f'is not one of {sorted(cv2_interp_codes)}')
        scale = self.resize.scale
        if self.resize.ratio_range is not None and not _is_size(scale):
            raise ValueError("resize['scale'] must be one (w, h) with "
                             f"resize['ratio_range'], got {scale!r}")
        if self.resize.ratio_range is None:
            if not (len(scale) == 2 and all(map(_is_size, scale))):
                raise ValueError(
                    "resize['scale'] must be two (w, h) bounds without "
                    f"resize['ratio_range'], got {scale!r}")
            # Inclusive integer range of each edge, as mmcv draws it.
            self._edge_bounds = [(min(edges), max(edges))
                                 for edges in zip(*scale)]
        if self.flip is not None and self.flip.direction != 'horizontal':
            raise ValueError("flip['direction']: only 'horizontal' is "
                             f'supported, got {self.flip.direction!r}')
        if self.expand is not None:
            mean = self.expand.mean
            self._fill_bgr = list(mean[::-1] if self.expand.to_rgb else mean)
        if self.min_iou_crop is not None:
            self._crop_modes = (NO_CROP_MODE, *self.min_iou_crop.min_ious, 0)

    def transform(self, results: dict) -> dict:
        if 'gt_bboxes' not in results:
            raise KeyError(f"{type(self).__name__} needs 'gt_bboxes' "
                           '(LoadAnnotations with_bbox=True before it)')
        for key in UNSUPPORTED_KEYS:
            if results.get(key) is not None:
                raise ValueError(f'{type(self).__name__} does not transform '
                                 f'{key!r}; use mmdet\'s four transforms')
        boxes = self._boxes_array(results['gt_bboxes'])
        params = self.sample_params(results['img'].shape[:2], boxes)
        self.apply(results, params)
        return results

    @staticmethod
    def _boxes_array(boxes) -> np.ndarray:
        """(N, 4) float32 array of ``HorizontalBoxes`` or an array."""
        if isinstance(boxes, HorizontalBoxes):
            return boxes.tensor.numpy()
        return np.asarray(boxes, np.float32).reshape(-1, 4)

    # Drawing: mmdet's numpy calls, in mmdet's order.

    def sample_params(self, img_shape: Sequence[int],
                      boxes: np.ndarray) -> GeometricParams:
        """Draw the parameters for an image of ``img_shape`` (H, W) px with
        the (N, 4) float32 ``boxes`` from numpy's global random state."""
        height, width = img_shape[:2]
        canvas_size, image_offset = self._sample_expand(width, height)
        canvas_boxes = self._translated(boxes, image_offset)
        crop_min_iou, crop_window, kept_boxes = self._sample_crop(
            canvas_size, canvas_boxes)
        scale = self._sample_scale()
        crop_w = crop_window[2] - crop_window[0]
        crop_h = crop_window[3] - crop_window[1]
        output_size = self._output_size(crop_w, crop_h, scale)
        flip = self.flip is not None and self._sample_flip()
        return GeometricParams(canvas_size, image_offset, crop_min_iou,
                               crop_window, kept_boxes, scale, output_size,
                               flip)

    def _sample_expand(self, width: int, height: int
                       ) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        """Expand's canvas (w, h) and the image's offset (x, y) in it."""
        if self.expand is None or np.random.uniform(0, 1) > self.expand.prob:
            return (width, height), (0, 0)
        ratio = np.random.uniform(*self.expand.ratio_range)
        left = int(np.random.uniform(0, width * ratio - width))
        top = int(np.random.uniform(0, height * ratio - height))
        return (int(width * ratio), int(height * ratio)), (left, top)

    def _sample_crop(self, canvas_size: Tuple[int, int],
                     boxes: np.ndarray) -> tuple:
        """MinIoURandomCrop's (min_iou or None, window, kept box mask) for
        the (N, 4) float32 boxes in the canvas: a min-IoU mode, then up to
        50 windows for it, until a mode keeps the image whole or a window
        passes."""
        width, height = canvas_size
        keep_all = np.ones(len(boxes), bool)
        if self.min_iou_crop is None:
            return None, (0, 0, width, height), keep_all
        check = _CropCheck(boxes)
        while True:
            mode = self._crop_modes[np.random.randint(len(self._crop_modes))]
            if mode == NO_CROP_MODE:
                return None, (0, 0, width, height), keep_all
            for _ in range(CROP_TRIES_PER_MODE):
                window = self._draw_window(width, height)
                if window is None:
                    continue
                kept = check.kept_boxes(window, mode)
                if kept is not None:
                    return float(mode), window, kept

    def _draw_window(self, width: int,
                     height: int) -> Optional[Tuple[int, int, int, int]]:
        """One of MinIoURandomCrop's windows (x0, y0, x1, y1) in a canvas of
        ``width`` x ``height`` px, or None for one it skips (aspect ratio
        outside [0.5, 2], or no width or height)."""
        min_crop_size = self.min_iou_crop.min_crop_size
        crop_w = np.random.uniform(min_crop_size * width, width)
        crop_h = np.random.uniform(min_crop_size * height, height)
        if not 0.5 <= crop_h / crop_w <= 2:
            return None
        # mmdet's uniform(w - crop_w): numpy's high defaults to 1.
        left = np.random.uniform(width - crop_w, 1.0)
        top = np.random.uniform(height - crop_h, 1.0)
        window = (int(left), int(top), int(left + crop_w), int(top + crop_h))
        if window[2] == window[0] or window[3] == window[1]:
            return None
        return window

    def _sample_scale(self) -> Tuple[int, int]:
        """RandomResize's target (w, h) px."""
        if self.resize.ratio_range is not None:
            low, high = self.resize.ratio_range
            ratio = np.random.random_sample() * (high - low) + low
            return (int(self.resize.scale[0] * ratio),
                    int(self.resize.scale[1] * ratio))
        return tuple(
            np.random.randint(low, high + 1)
            for low, high in self._edge_bounds)

    def _output_size(self, width: int, height: int,
                     scale: Tuple[int, int]) -> Tuple[int, int]:
        """(w, h) px Resize gives a ``width`` x ``height`` image for
        ``scale``: with ``keep_ratio`` mmcv's ``rescale_size`` (the largest
        size inside the box of the long and short sides of ``scale``,
        rounded half up), else ``scale``."""
        if not self.resize.keep_ratio:
            return tuple(scale)
        factor = min(max(scale) / max(height, width),
                     min(scale) / min(height, width))
        return int(width * factor + 0.5), int(height * factor + 0.5)

    def _sample_flip(self) -> bool:
        """RandomFlip's decision: numpy's ``choice`` with probabilities
        (prob, 1 - prob) flips when a uniform draw falls below the first
        cumulative probability."""
        prob = self.flip.prob
        return np.random.random_sample() < prob / (prob + (1 - prob))

    # Rendering.

    def apply(self, results: dict, params: GeometricParams) -> dict:
        """Apply drawn ``params`` to ``results`` (keys as the class says)."""
        img = self._render(results['img'], params)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['scale'] = params.scale
        results['scale_factor'] = params.scale_factor
        results['keep_ratio'] = self.resize.keep_ratio
        results['flip'] = params.flip
        results['flip_direction'] = 'horizontal' if params.flip else None
        results['geometric_params'] = params
        boxes = self._transform_boxes(
            self._boxes_array(results['gt_bboxes']), params)
        if isinstance(results['gt_bboxes'], HorizontalBoxes):
            boxes = HorizontalBoxes(boxes)
        results['gt_bboxes'] = boxes
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            if results.get(key) is not None:
                results[key] = results[key][params.kept_boxes]
        return results

    def _render(self, img: np.ndarray, params: GeometricParams) -> np.ndarray:
        """The (h, w, C) output for ``output_size`` (w, h): the crop window
        of the canvas (a view of ``img``, or one copy of its visible part
        into the canvas fill), resized, flipped in place."""
        img_h, img_w = img.shape[:2]
        offset_x, offset_y = params.image_offset
        x0, y0, x1, y1 = params.crop_window
        # The window in image pixels; parts outside the image show fill.
        x0, x1 = x0 - offset_x, x1 - offset_x
        y0, y1 = y0 - offset_y, y1 - offset_y
        # Ends left of or above the image are 0, not indices from its far
        # side; numpy stops ends past it at its size.
        visible = img[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)]
        border = (max(-y0, 0), max(y1 - img_h, 0), max(-x0, 0),
                  max(x1 - img_w, 0))
        if not any(border):
            window = visible
        elif visible.size:
            window = cv2.copyMakeBorder(
                visible, *border, cv2.BORDER_CONSTANT, value=self._fill(img))
        else:
            window = np.empty((y1 - y0, x1 - x0) + img.shape[2:], img.dtype)
            window[...] = self._fill(img)
        output = cv2.resize(
            window,
            params.output_size,
            interpolation=cv2_interp_codes[self.resize.interpolation])
        if params.flip:
            cv2.flip(output, 1, dst=output)
        return output

    def _fill(self, img: np.ndarray) -> list:
        """Expand's fill colour per channel, cast to the image's dtype as
        numpy casts mmdet's ``mean`` into its canvas."""
        return np.full(img.shape[2:], self._fill_bgr, img.dtype).tolist()

    @staticmethod
    def _translated(boxes: np.ndarray, offset: Sequence[float]) -> np.ndarray:
        """(N, 4) float32 boxes moved by ``offset`` (x, y)."""
        return boxes + np.asarray(offset * 2, np.float32)

    def _transform_boxes(self, boxes: np.ndarray,
                         params: GeometricParams) -> np.ndarray:
        """(N, 4) float32 image px -> (M, 4) float32 output px, through
        the float32 operations of mmdet's four steps, in their order."""
        boxes = self._translated(boxes, params.image_offset)
        if params.crop_min_iou is not None:
            x0, y0 = params.crop_window[:2]
            boxes = self._translated(boxes[params.kept_boxes], (-x0, -y0))
            if self.min_iou_crop.bbox_clip_border:
                boxes = self._clipped(boxes, params.crop_size)
        boxes = boxes * np.asarray(params.scale_factor * 2, np.float32)
        if self.resize.clip_object_border:
            boxes = self._clipped(boxes, params.output_size)
        if params.flip:
            boxes[:, [0, 2]] = params.output_size[0] - boxes[:, [2, 0]]
        return boxes

    @staticmethod
    def _clipped(boxes: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
        """Boxes clamped to [0, w] x [0, h] for ``size`` (w, h)."""
        return np.clip(boxes, 0, np.asarray(size * 2, np.float32))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(resize={self.resize}, '
                f'expand={self.expand}, min_iou_crop={self.min_iou_crop}, '
                f'flip={self.flip})')
