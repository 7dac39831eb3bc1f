"""Synthetic driving-like demo data written in the raw KITTI and Cityscapes
layouts, learnable on a CPU in minutes.

A scene is a sky / road background with buildings, trees, poles, signs and
blobs, then objects drawn far to near (a perspective ground plane: smaller
objects sit nearer the horizon): cars (side or rear view: body, darker
window band, dark wheels), vans (taller boxes, ignored under the default
KITTI classes), pedestrians (head, clothes, legs) and cyclists (rider over
two wheel rings), in class-typical but varied colours with shading and
pixel noise. Some objects leave the image (KITTI ``truncated`` = the
fraction of the object's pixels outside), nearer objects hide farther ones
(``occluded`` 0/1/2 from the hidden fraction), and clusters of tiny far
objects are covered by a ``DontCare`` box (Cityscapes: a ``cargroup`` /
``persongroup`` polygon). Every box is the exact pixel extent of what is
drawn. Images and labels depend only on the seed and the image's split and
index.
"""
import json
import math
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .kitti_format import DONT_CARE, format_kitti_line, write_kitti_file

KITTI_DEMO_SIZE = (621, 188)  # (W, H): KITTI's 1242 x 375, halved
CITYSCAPES_DEMO_SIZE = (512, 256)  # (W, H): Cityscapes' 2048 x 1024 / 4
DEMO_FORMATS = ('kitti', 'cityscapes')
MARKER_FILE = 'demo_info.json'
GENERATOR_VERSION = 1

CAMERA_HEIGHT = 1.65  # metres, as KITTI's camera
MIN_HEIGHT, MAX_HEIGHT_FRACTION = 12, 0.62  # labelled box heights, pixels
MAX_HIDDEN = 0.6  # objects hidden more than this are left out
# kind -> (probability, real height range in metres)
OBJECT_KINDS = {
    'Car': (0.50, (1.40, 1.65)),
    'Pedestrian': (0.26, (1.55, 1.90)),
    'Cyclist': (0.18, (1.60, 1.85)),
    'Van': (0.06, (1.95, 2.35)),
}
# kind -> (width range, length range) in metres, for the 3D fields
OBJECT_FOOTPRINTS = {
    'Car': ((1.55, 1.80), (3.6, 4.6)),
    'Pedestrian': ((0.50, 0.70), (0.5, 0.9)),
    'Cyclist': ((0.50, 0.70), (1.6, 1.9)),
    'Van': ((1.80, 2.05), (4.5, 5.5)),
}
CITYSCAPES_LABEL_OF_PART = {
    'Car': 'car',
    'Van': 'truck',
    'Pedestrian': 'person',
    'rider': 'rider',
    'bicycle': 'bicycle',
    'CarGroup': 'cargroup',
    'PersonGroup': 'persongroup',
}
CITYSCAPES_CITIES = {
    'train': ('aachen', 'bremen'),
    'val': ('frankfurt', ),
    'test': ('berlin', )
}
SPLIT_CODES = {'train': 0, 'val': 1, 'test': 2}


@dataclass
class SceneObject:
    """One drawn object (or a group of tiny ones).

    ``parts`` maps a part name to its (h, w) bool mask in the patch whose
    top-left corner is at (``x0``, ``y0``) image pixels (may be negative).
    The fields after ``view`` are filled once the scene is composed:
    ``bbox`` is the xyxy pixel extent of the object inside the image.
    """
    kind: str
    x0: int
    y0: int
    pixels: np.ndarray  # (h, w, 3) uint8 BGR
    parts: Dict[str, np.ndarray]
    real_height: float = 0.0
    view: str = 'side'
    facing: int = 1
    bbox: List[int] = field(default_factory=list)
    truncated: float = 0.0
    hidden: float = 0.0

    @property
    def mask(self) -> np.ndarray:
        return np.logical_or.reduce(list(self.parts.values()))

    @property
    def is_group(self) -> bool:
        return self.kind.endswith('Group')


@dataclass
class Scene:
    """A rendered image with its objects, drawing order (far first)."""
    image: np.ndarray  # (H, W, 3) uint8 BGR
    objects: List[SceneObject]
    horizon: int
    focal: float


class _Patch:
    """Colours and part masks of one object, drawn with shapes given in
    fractions of the patch size (0 and 1 touch its edges)."""

    def __init__(self, w: int, h: int, parts: Sequence[str]) -> None:
        self.w, self.h = w, h
        self.pixels = np.zeros((h, w, 3), np.uint8)
        self.parts = {p: np.zeros((h, w), np.uint8) for p in parts}

    def pt(self, fx: float, fy: float) -> Tuple[int, int]:
        return (int(round(fx * (self.w - 1))), int(round(fy * (self.h - 1))))

    def px(self, fraction_of_h: float, minimum: int = 1) -> int:
        return max(minimum, int(round(fraction_of_h * self.h)))

    def _draw(self, part: str, colour, draw) -> None:
        draw(self.pixels, tuple(int(c) for c in colour))
        draw(self.parts[part], 1)

    def poly(self, part, colour, points) -> None:
        pts = np.array([self.pt(*p) for p in points], np.int32)
        self._draw(part, colour, lambda img, c: cv2.fillPoly(img, [pts], c))

    def rect(self, part, colour, fx1, fy1, fx2, fy2) -> None:
        p, q = self.pt(fx1, fy1), self.pt(fx2, fy2)
        self._draw(part, colour,
                   lambda img, c: cv2.rectangle(img, p, q, c, cv2.FILLED))

    def circle(self, part, colour, centre_px, radius, thickness=-1) -> None:
        self._draw(
            part, colour, lambda img, c: cv2.circle(img, centre_px, radius, c,
                                                    thickness, cv2.LINE_8))

    def line(self, part, colour, p, q, thickness) -> None:
        p, q = self.pt(*p), self.pt(*q)
        self._draw(
            part, colour,
            lambda img, c: cv2.line(img, p, q, c, thickness, cv2.LINE_8))

    def ellipse(self, part, colour, centre_px, axes) -> None:
        self._draw(
            part, colour, lambda img, c: cv2.ellipse(
                img, centre_px, axes, 0, 0, 360, c, cv2.FILLED))


def _jitter(rng, colour, amount=18) -> np.ndarray:
    return np.clip(np.asarray(colour) + rng.integers(-amount, amount + 1, 3),
                   0, 255)


def _hsv_colour(rng, hue, sat, val) -> np.ndarray:
    """A BGR colour from HSV given as (low, high) ranges (OpenCV units)."""
    hsv = np.array([[[rng.uniform(*hue), rng.uniform(*sat),
                      rng.uniform(*val)]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]


def _car_colour(rng) -> np.ndarray:
    if rng.random() < 0.45:  # white, silver, grey, black
        return _hsv_colour(rng, (0, 180), (0, 25), (30, 235))
    return _hsv_colour(rng, (0, 180), (140, 255), (90, 220))


def _draw_wheels(patch, rng, centres, radius) -> None:
    tyre = _jitter(rng, (30, 30, 32), 10)
    hub = _jitter(rng, (140, 140, 140), 25)
    for cx, cy in centres:
        patch.circle('body', tyre, (cx, cy), radius)
        patch.circle('body', hub, (cx, cy), max(1, int(radius * 0.45)))


def _draw_car(rng, w: int, h: int, view: str, van: bool) -> _Patch:
    patch = _Patch(w, h, ['body'])
    body = _car_colour(rng) if not van else _hsv_colour(
        rng, (0, 180), (0, 40), (150, 240))
    window = _jitter(rng, (75, 55, 40), 15)
    lamp_red = _jitter(rng, (30, 30, 200), 20)
    if view == 'rear':
        tyre = _jitter(rng, (35, 35, 35), 8)
        patch.rect('body', tyre, 0.04, 0.8, 0.24, 1.0)
        patch.rect('body', tyre, 0.76, 0.8, 0.96, 1.0)
        if van:
            patch.rect('body', body, 0.0, 0.0, 1.0, 0.88)
            patch.rect('body', window, 0.12, 0.08, 0.88, 0.4)
        else:
            patch.poly('body', body, [(0.1, 0.42), (0.2, 0), (0.8, 0),
                                      (0.9, 0.42)])
            patch.rect('body', body, 0.0, 0.38, 1.0, 0.88)
            patch.poly('body', window, [(0.17, 0.37), (0.25, 0.08),
                                        (0.75, 0.08), (0.83, 0.37)])
        patch.rect('body', lamp_red, 0.03, 0.47, 0.2, 0.6)
        patch.rect('body', lamp_red, 0.8, 0.47, 0.97, 0.6)
        patch.rect('body', _jitter(rng, (215, 215, 215), 20), 0.38, 0.63,
                   0.62, 0.73)
        patch.rect('body', _jitter(rng, (40, 40, 40), 10), 0.0, 0.79, 1.0,
                   0.88)
        return patch
    radius = patch.px(0.17 if van else 0.2, minimum=2)
    wheel_y = h - 1 - radius
    if van:
        patch.poly('body', body, [(0, 0.08), (0.03, 0), (0.74, 0),
                                  (0.9, 0.36), (1, 0.46), (1, 0.84),
                                  (0, 0.84)])
        patch.poly('body', window, [(0.76, 0.07), (0.88, 0.34), (0.76, 0.34)])
        patch.rect('body', window, 0.06, 0.08, 0.70, 0.32)
    else:
        patch.poly('body', body, [(0.2, 0.42), (0.32, 0), (0.68, 0),
                                  (0.84, 0.42)])
        patch.poly('body', body, [(0, 0.5), (0.04, 0.38), (0.96, 0.4),
                                  (1, 0.55), (1, 0.84), (0, 0.84)])
        patch.poly('body', window, [(0.27, 0.39), (0.35, 0.09), (0.49, 0.09),
                                    (0.49, 0.39)])
        patch.poly('body', window, [(0.52, 0.39), (0.52, 0.09), (0.66, 0.09),
                                    (0.77, 0.39)])
    patch.rect('body', _jitter(rng, (200, 235, 245), 10), 0.95, 0.5, 1.0,
               0.6)
    patch.rect('body', lamp_red, 0.0, 0.5, 0.03, 0.6)
    if w > 40:
        patch.line('body', body * 0.6, (0.5, 0.44), (0.5, 0.78), 1)
    _draw_wheels(patch, rng, [(int(0.2 * (w - 1)), wheel_y),
                              (int(0.8 * (w - 1)), wheel_y)], radius)
    return patch


def _skin(rng) -> np.ndarray:
    return _hsv_colour(rng, (5, 18), (60, 160), (90, 230))


def _draw_pedestrian(rng, w: int, h: int) -> _Patch:
    patch = _Patch(w, h, ['person'])
    shirt = _hsv_colour(rng, (0, 180), (0, 200), (30, 200))
    trousers = _hsv_colour(rng, (100, 130), (20, 150), (25, 110))
    stride = rng.uniform(0.0, 0.36) if rng.random() < 0.7 else 0.0
    swing = rng.uniform(0.0, 0.35)
    limb = patch.px(0.065, minimum=2)
    # legs: hips at 0.55 h, feet on the ground
    patch.line('person', trousers, (0.42, 0.55), (0.42 - stride, 0.96), limb)
    patch.line('person', trousers, (0.58, 0.55), (0.58 + stride * 0.8, 0.96),
               limb)
    shoe = _jitter(rng, (30, 30, 30), 10)
    patch.rect('person', shoe, 0.38 - stride, 0.95, 0.52 - stride, 1.0)
    patch.rect('person', shoe, 0.54 + stride * 0.8, 0.95,
               0.68 + stride * 0.8, 1.0)
    # arms, torso, head
    arm = patch.px(0.05, minimum=1)
    patch.line('person', shirt * 0.85, (0.3, 0.2), (0.22 - swing * 0.5, 0.5),
               arm)
    patch.line('person', shirt * 0.85, (0.7, 0.2), (0.78 + swing * 0.5, 0.5),
               arm)
    patch.poly('person', shirt, [(0.26, 0.16), (0.74, 0.16), (0.68, 0.57),
                                 (0.32, 0.57)])
    head_ry = max(1, int(0.075 * h))
    head_rx = max(1, int(0.06 * h))
    patch.ellipse('person', _skin(rng), (int(0.5 * (w - 1)), head_ry),
                  (head_rx, head_ry))
    return patch


def _draw_cyclist(rng, w: int, h: int) -> _Patch:
    patch = _Patch(w, h, ['bicycle', 'rider'])
    frame = _hsv_colour(rng, (0, 180), (160, 255), (120, 240))
    jersey = _hsv_colour(rng, (0, 180), (150, 255), (120, 255))
    trousers = _hsv_colour(rng, (0, 180), (0, 80), (20, 90))
    radius = patch.px(0.21, minimum=3)
    ring = patch.px(0.04, minimum=1)
    hub_y = h - 1 - radius
    rear, front = (radius, hub_y), (w - 1 - radius, hub_y)
    tyre = _jitter(rng, (30, 30, 32), 10)
    for centre in (rear, front):
        patch.circle('bicycle', tyre, centre, radius, ring)
    tube = patch.px(0.035, minimum=1)
    rear_f = (rear[0] / (w - 1), rear[1] / (h - 1))
    front_f = (front[0] / (w - 1), front[1] / (h - 1))
    crank, seat, head = (0.48, 0.8), (0.4, 0.5), (0.7, 0.52)
    for p, q in [(rear_f, crank), (crank, seat), (seat, rear_f),
                 (crank, head), (seat, head), (head, front_f),
                 (head, (0.74, 0.44))]:
        patch.line('bicycle', frame, p, q, tube)
    limb = patch.px(0.07, minimum=1)
    patch.line('rider', trousers, (0.42, 0.46), (0.58, 0.64), limb)
    patch.line('rider', trousers, (0.58, 0.64), (0.5, 0.84), limb)
    patch.line('rider', jersey * 0.85, (0.6, 0.2), (0.74, 0.44),
               patch.px(0.05, minimum=1))
    patch.line('rider', jersey, (0.42, 0.46), (0.6, 0.2),
               patch.px(0.13, minimum=2))
    head_r = max(1, int(0.085 * h))
    patch.circle('rider', _skin(rng), (int(0.64 * (w - 1)), head_r), head_r)
    patch.circle('rider', _jitter(rng, frame, 40),
                 (int(0.64 * (w - 1)), head_r), head_r, max(1, head_r // 3))
    return patch


def _draw_object(rng, kind: str, h: int) -> Tuple[_Patch, str]:
    """The patch of an object ``h`` pixels tall, and its view."""
    view = 'side'
    if kind in ('Car', 'Van'):
        view = 'rear' if rng.random() < 0.4 else 'side'
        aspect = {
            ('Car', 'side'): (1.9, 2.5),
            ('Car', 'rear'): (1.05, 1.35),
            ('Van', 'side'): (1.5, 1.9),
            ('Van', 'rear'): (0.85, 1.05)
        }[kind, view]
        w = max(3, int(round(h * rng.uniform(*aspect))))
        return _draw_car(rng, w, h, view, kind == 'Van'), view
    if kind == 'Pedestrian':
        w = max(3, int(round(h * rng.uniform(0.36, 0.5))))
        return _draw_pedestrian(rng, w, h), view
    w = max(5, int(round(h * rng.uniform(0.85, 1.15))))
    return _draw_cyclist(rng, w, h), view


def _shaded(pixels: np.ndarray, rng) -> np.ndarray:
    """Top-to-bottom lighting and per-object brightness."""
    h = pixels.shape[0]
    gain = np.linspace(1.12, 0.86, h, dtype=np.float32) * rng.uniform(
        0.85, 1.1)
    return np.clip(pixels * gain[:, None, None], 0, 255).astype(np.uint8)


def _place_object(rng, kind: str, width: int, height: int,
                  horizon: int) -> SceneObject:
    real_height = rng.uniform(*OBJECT_KINDS[kind][1])
    ground_ratio = CAMERA_HEIGHT / real_height  # (bottom - horizon) / h
    max_h = min((height - horizon) / max(ground_ratio - 0.25, 0.3),
                MAX_HEIGHT_FRACTION * height)
    h = int(round(math.exp(rng.uniform(math.log(MIN_HEIGHT),
                                       math.log(max_h)))))
    patch, view = _draw_object(rng, kind, h)
    facing = 1 if rng.random() < 0.5 else -1
    pixels, parts = _shaded(patch.pixels, rng), patch.parts
    if facing < 0:
        pixels = np.ascontiguousarray(pixels[:, ::-1])
        parts = {k: m[:, ::-1] for k, m in parts.items()}
    w = pixels.shape[1]
    bottom = horizon + h * ground_ratio * rng.uniform(0.95, 1.05)
    if rng.random() < 0.25:  # leave the image on one side
        outside = rng.uniform(0.1, 0.55) * w
        x0 = -outside if rng.random() < 0.5 else width - w + outside
    else:
        x0 = rng.uniform(0, max(width - w, 1))
    return SceneObject(
        kind=kind,
        x0=int(round(x0)),
        y0=int(round(bottom)) - h,
        pixels=pixels,
        parts={k: m.astype(bool)
               for k, m in parts.items()},
        real_height=real_height,
        view=view,
        facing=facing)


def _place_group(rng, width: int, horizon: int) -> SceneObject:
    """A cluster of 2 to 5 tiny far objects, one ignored region."""
    kind = 'CarGroup' if rng.random() < 0.6 else 'PersonGroup'
    members = []
    x = 0
    for _ in range(int(rng.integers(2, 6))):
        h = int(rng.integers(5, 11))
        patch, _ = _draw_object(rng, 'Car' if kind == 'CarGroup' else
                                'Pedestrian', h)
        dy = int(rng.integers(0, 3))
        members.append((x, dy, patch))
        x += int(patch.w * rng.uniform(0.6, 1.1))
    group_w = max(m[0] + m[2].w for m in members)
    group_h = max(m[1] + m[2].h for m in members)
    pixels = np.zeros((group_h, group_w, 3), np.uint8)
    mask = np.zeros((group_h, group_w), bool)
    for mx, my, patch in members:
        member_mask = np.logical_or.reduce(list(patch.parts.values())) > 0
        region = (slice(my, my + patch.h), slice(mx, mx + patch.w))
        pixels[region][member_mask] = patch.pixels[member_mask]
        mask[region] |= member_mask
    x0 = int(rng.uniform(0, width - group_w))
    y0 = horizon + int(rng.integers(0, 6)) - group_h + 3
    return SceneObject(
        kind=kind, x0=x0, y0=y0, pixels=pixels, parts={'group': mask})


def _background(rng, width: int, height: int, horizon: int) -> np.ndarray:
    """Sky and road gradients with buildings, trees, lane marks, poles,
    signs and blobs, (H, W, 3) uint8 BGR."""
    sky_top = _hsv_colour(rng, (95, 115), (40, 140), (170, 245))
    sky_low = _jitter(rng, (215, 210, 205), 25)
    road_far = _jitter(rng, (120, 118, 115), 20)
    road_near = road_far * rng.uniform(0.6, 0.85)
    t_sky = np.linspace(0, 1, horizon, dtype=np.float32)[:, None]
    t_road = np.linspace(0, 1, height - horizon, dtype=np.float32)[:, None]
    column = np.concatenate(
        [sky_top * (1 - t_sky) + sky_low * t_sky,
         road_far * (1 - t_road) + road_near * t_road]).astype(np.uint8)
    img = np.ascontiguousarray(
        np.broadcast_to(column[:, None, :], (height, width, 3)))
    _draw_far_band(img, rng, horizon)
    vanish_x = int(width * rng.uniform(0.35, 0.65))
    for side in (-1, 1):  # sidewalks
        edge = vanish_x + side * width * rng.uniform(0.9, 1.4)
        pts = np.array([[vanish_x + side * 4, horizon],
                        [int(edge), height], [0 if side < 0 else width - 1,
                                              height],
                        [0 if side < 0 else width - 1, horizon]], np.int32)
        cv2.fillPoly(img, [pts], _jitter(rng, (150, 150, 148), 15).tolist())
    for lane in rng.uniform(-0.5, 0.5, int(rng.integers(1, 4))):
        _draw_dashed_line(img, rng, (vanish_x, horizon),
                          (int(vanish_x + lane * width), height))
    for _ in range(int(rng.integers(2, 6))):  # blobs: puddles, patches
        centre = (int(rng.uniform(0, width)),
                  int(rng.uniform(horizon + 5, height)))
        axes = (int(rng.uniform(6, 40)), int(rng.uniform(2, 8)))
        colour = (road_far * rng.uniform(0.7, 1.2)).clip(0, 255)
        cv2.ellipse(img, centre, axes, 0, 0, 360, colour.tolist(), -1)
    for _ in range(int(rng.integers(1, 4))):  # poles with signs
        x = int(rng.uniform(0, width))
        top = horizon - int(rng.uniform(0.15, 0.4) * height)
        cv2.rectangle(img, (x, top), (x + int(rng.integers(1, 4)),
                                      horizon + int(rng.integers(5, 30))),
                      _jitter(rng, (90, 90, 95), 30).tolist(), -1)
        if rng.random() < 0.6:
            sign = _hsv_colour(rng, (0, 180), (150, 255), (150, 255))
            cv2.circle(img, (x + 1, top), int(rng.integers(3, 7)),
                       sign.tolist(), -1)
    return img


def _draw_far_band(img, rng, horizon: int) -> None:
    """Buildings and trees standing on the horizon."""
    width, height = img.shape[1], img.shape[0]
    x = int(rng.uniform(-40, 0))
    while x < width:
        w = int(rng.uniform(25, 120))
        top = horizon - int(rng.uniform(0.08, 0.35) * height)
        if rng.random() < 0.75:
            wall = _hsv_colour(rng, (0, 30), (10, 80), (80, 200))
            cv2.rectangle(img, (x, top), (x + w, horizon), wall.tolist(), -1)
            _draw_windows(img, x, top, w, horizon - top, wall * 0.55)
        else:
            green = _hsv_colour(rng, (35, 75), (80, 200), (50, 150))
            cv2.ellipse(img, (x + w // 2, top + (horizon - top) // 2),
                        (w // 2, max((horizon - top) // 2, 2)), 0, 0, 360,
                        green.tolist(), -1)
        x += w + int(rng.uniform(0, 30))


def _draw_windows(img, x, top, w, h, colour) -> None:
    """A grid of 5 x 5 px windows, 10 px apart, inside a facade."""
    x1, x2 = max(x + 4, 0), min(x + w - 4, img.shape[1])
    y1, y2 = max(top + 4, 0), top + h - 6
    if x2 <= x1 or y2 <= y1:
        return
    rows = (np.arange(y1, y2) - top - 4) % 9 < 5
    cols = (np.arange(x1, x2) - x - 4) % 10 < 5
    img[y1:y2, x1:x2][rows[:, None] & cols[None, :]] = colour


def _draw_dashed_line(img, rng, start, end) -> None:
    colour = _jitter(rng, (225, 225, 225), 20).tolist()
    n = 14
    t = np.linspace(0, 1, n + 1) ** 2  # dashes grow towards the camera
    xs = start[0] + (end[0] - start[0]) * t
    ys = start[1] + (end[1] - start[1]) * t
    for i in range(0, n, 2):
        thickness = max(1, int(1 + 3 * t[i]))
        cv2.line(img, (int(xs[i]), int(ys[i])),
                 (int(xs[i + 1]), int(ys[i + 1])), colour, thickness)


def _compose(img: np.ndarray, objects: List[SceneObject]) -> None:
    """Draw ``objects`` in order onto ``img``; fill their ``bbox``,
    ``truncated`` and ``hidden`` (fraction of the in-image pixels covered
    by later objects)."""
    height, width = img.shape[:2]
    owner = np.zeros((height, width), np.int32)  # 0: background
    in_image = np.zeros(len(objects), np.int64)
    for number, obj in enumerate(objects, 1):
        mask = obj.mask
        h, w = mask.shape
        ys = slice(max(obj.y0, 0), min(obj.y0 + h, height))
        xs = slice(max(obj.x0, 0), min(obj.x0 + w, width))
        inside = mask[ys.start - obj.y0:ys.stop - obj.y0,
                      xs.start - obj.x0:xs.stop - obj.x0]
        pixels = obj.pixels[ys.start - obj.y0:ys.stop - obj.y0,
                            xs.start - obj.x0:xs.stop - obj.x0]
        img[ys, xs][inside] = pixels[inside]
        owner[ys, xs][inside] = number
        rows, cols = np.nonzero(inside)
        obj.bbox = ([
            xs.start + int(cols.min()), ys.start + int(rows.min()),
            xs.start + int(cols.max()) + 1, ys.start + int(rows.max()) + 1
        ] if rows.size else [])
        obj.truncated = 1.0 - rows.size / max(int(mask.sum()), 1)
        in_image[number - 1] = rows.size
    visible = np.bincount(owner.ravel(), minlength=len(objects) + 1)[1:]
    hidden = 1.0 - visible / np.maximum(in_image, 1)
    for obj, fraction in zip(objects, hidden.tolist()):
        obj.hidden = fraction


def render_scene(rng: np.random.Generator, width: int,
                 height: int) -> Scene:
    """One synthetic driving scene of ``width`` x ``height`` pixels."""
    horizon = int(height * rng.uniform(0.40, 0.47))
    focal = 721.5 * width / 1242.0
    background = _background(rng, width, height, horizon)
    groups = [
        _place_group(rng, width, horizon)
        for _ in range(int(rng.choice([0, 1, 1, 2])))
    ]
    kinds = list(OBJECT_KINDS)
    probs = [OBJECT_KINDS[k][0] for k in kinds]
    objects = [
        _place_object(rng, kinds[int(rng.choice(len(kinds), p=probs))], width,
                      height, horizon)
        for _ in range(int(rng.integers(2, 9)))
    ]
    # Far to near: a smaller real-height-normalised size is farther.
    objects.sort(key=lambda o: o.pixels.shape[0] / o.real_height)
    while True:
        img = background.copy()
        _compose(img, groups + objects)
        keep = [o for o in objects if o.bbox and o.hidden <= MAX_HIDDEN
                and o.bbox[3] - o.bbox[1] >= MIN_HEIGHT // 2]
        if len(keep) == len(objects):
            break
        objects = keep
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    noise *= rng.uniform(3, 7)
    noise += img * np.float32(rng.uniform(0.8, 1.1))  # overall lighting
    img = np.clip(noise, 0, 255).astype(np.uint8)
    return Scene(
        image=img, objects=groups + objects, horizon=horizon, focal=focal)


def _occlusion_level(hidden: float) -> int:
    """KITTI ``occluded``: 0 fully visible, 1 partly, 2 largely."""
    return 0 if hidden < 0.08 else (1 if hidden < 0.4 else 2)


def _wrap_angle(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def kitti_label_lines(scene: Scene, rng: np.random.Generator) -> List[str]:
    """The KITTI label lines (15 fields) of a scene, with plausible 3D
    fields from a pinhole camera at KITTI's height; a group is a
    ``DontCare`` region with the other fields unknown."""
    lines = []
    cx = scene.image.shape[1] / 2
    for obj in scene.objects:
        if obj.is_group:
            lines.append(format_kitti_line(DONT_CARE, _dont_care_box(obj, scene)))
            continue
        h, w = obj.pixels.shape[:2]
        depth = scene.focal * obj.real_height / h
        x = (obj.x0 + w / 2 - cx) * depth / scene.focal
        y = (obj.y0 + h - scene.horizon) * depth / scene.focal
        width_range, length_range = OBJECT_FOOTPRINTS[obj.kind]
        rotation_y = (-math.pi / 2 if obj.view == 'rear' else
                      (0.0 if obj.facing > 0 else math.pi))
        rotation_y = _wrap_angle(rotation_y + rng.normal(0, 0.08))
        alpha = _wrap_angle(rotation_y - math.atan2(x, depth))
        dimensions = (obj.real_height, rng.uniform(*width_range), rng.uniform(*length_range))
        lines.append(format_kitti_line(
            obj.kind, obj.bbox, truncated=obj.truncated, occluded=_occlusion_level(obj.hidden),
            alpha=alpha, dimensions=dimensions, location=(x, y, depth), rotation_y=rotation_y))
    return lines


def _dont_care_box(obj: SceneObject, scene: Scene) -> List[int]:
    """A group's box with a one-pixel margin, inside the image."""
    height, width = scene.image.shape[:2]
    x1, y1, x2, y2 = obj.bbox
    return [max(x1 - 1, 0), max(y1 - 1, 0), min(x2 + 1, width),
            min(y2 + 1, height)]


def cityscapes_objects(scene: Scene) -> List[dict]:
    """The ``objects`` of a Cityscapes polygon json: sky and road first,
    then one polygon per object part (rider and bicycle apart) in drawing
    order, each the outline of the part's pixels inside the image."""
    height, width = scene.image.shape[:2]
    objects = [
        dict(label='sky', polygon=[[0, 0], [width - 1, 0],
                                   [width - 1, scene.horizon - 1],
                                   [0, scene.horizon - 1]]),
        dict(label='road', polygon=[[0, scene.horizon], [width - 1,
                                                          scene.horizon],
                                    [width - 1, height - 1], [0, height - 1]])
    ]
    for obj in scene.objects:
        for part, mask in obj.parts.items():
            label = CITYSCAPES_LABEL_OF_PART.get(
                part if obj.kind == 'Cyclist' else obj.kind)
            polygon = _outline(mask, obj.x0, obj.y0, width, height)
            if polygon:
                objects.append(dict(label=label, polygon=polygon))
    return objects


def _outline(mask: np.ndarray, x0: int, y0: int, width: int,
             height: int) -> List[List[int]]:
    """Polygon (image pixels) around the in-image pixels of a patch mask;
    its vertices' extent equals the pixels' extent."""
    canvas = np.zeros((height, width), np.uint8)
    h, w = mask.shape
    ys = slice(max(y0, 0), min(y0 + h, height))
    xs = slice(max(x0, 0), min(x0 + w, width))
    if ys.start >= ys.stop or xs.start >= xs.stop:
        return []
    canvas[ys, xs] = mask[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop -
                          x0]
    contours, _ = cv2.findContours(canvas, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    points = contours[0] if len(contours) == 1 else cv2.convexHull(
        np.concatenate(contours))
    points = points.reshape(-1, 2)
    if len(points) < 3:  # a line or a dot: the rectangle around it
        (x1, y1), (x2, y2) = points.min(0), points.max(0)
        points = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    return points.tolist()


def _image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def _prepare_root(root: str, overwrite: bool, info: dict) -> None:
    if osp.isdir(root) and os.listdir(root):
        if not overwrite:
            raise FileExistsError(f'{root} is not empty; pass overwrite=True '
                                  '(--overwrite) to replace the demo data')
        if not osp.isfile(osp.join(root, MARKER_FILE)):
            raise FileExistsError(
                f'{root} holds no {MARKER_FILE}: not demo data, left alone')
        shutil.rmtree(root)
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, MARKER_FILE), 'w') as f:
        json.dump(info, f, indent=1)


def _write_png(path: str, img: np.ndarray) -> None:
    # Fast Huffman-only compression: noisy images gain little from more.
    params = [
        cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY,
        cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY
    ]
    if not cv2.imwrite(path, img, params):
        raise OSError(f'{path}: cannot write the image')


def make_demo_kitti(root: str,
                    num_train: int = 200,
                    num_val: int = 50,
                    num_test: int = 0,
                    seed: int = 0,
                    size: Tuple[int, int] = KITTI_DEMO_SIZE,
                    overwrite: bool = False) -> str:
    """Write a demo set in the raw KITTI layout under ``root``.

    Frames ``0 .. num_train-1`` are listed in ``ImageSets/train.txt``, the
    next ``num_val`` in ``val.txt`` (both in ``trainval.txt``), all in
    ``training/``; ``num_test`` unlabelled frames go to ``testing/image_2``
    and ``ImageSets/test.txt``. ``size`` is (W, H) pixels. Returns ``root``.
    """
    _prepare_root(root, overwrite, _info('kitti', num_train, num_val,
                                         num_test, seed, size))
    for folder in ('training/image_2', 'training/label_2', 'ImageSets'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    frames = {'train': range(num_train),
              'val': range(num_train, num_train + num_val),
              'test': range(num_test)}
    for split in ('train', 'val'):
        for frame in frames[split]:
            rng = _image_rng(seed, split, frame)
            scene = render_scene(rng, *size)
            _write_png(osp.join(root, 'training/image_2', f'{frame:06d}.png'),
                       scene.image)
            write_kitti_file(osp.join(root, 'training/label_2', f'{frame:06d}.txt'),
                             kitti_label_lines(scene, rng))
    if num_test:
        os.makedirs(osp.join(root, 'testing/image_2'), exist_ok=True)
        for frame in frames['test']:
            scene = render_scene(_image_rng(seed, 'test', frame), *size)
            _write_png(osp.join(root, 'testing/image_2', f'{frame:06d}.png'),
                       scene.image)
    split_files = {'train': frames['train'], 'val': frames['val'],
                   'trainval': range(num_train + num_val)}
    if num_test:
        split_files['test'] = frames['test']
    for name, ids in split_files.items():
        with open(osp.join(root, 'ImageSets', f'{name}.txt'), 'w') as f:
            f.writelines(f'{i:06d}\n' for i in ids)
    return root


def make_demo_cityscapes(root: str,
                         num_train: int = 200,
                         num_val: int = 50,
                         num_test: int = 0,
                         seed: int = 0,
                         size: Tuple[int, int] = CITYSCAPES_DEMO_SIZE,
                         overwrite: bool = False) -> str:
    """Write a demo set in the raw Cityscapes layout under ``root``:
    ``leftImg8bit/{split}/{city}/*_leftImg8bit.png`` and (train, val)
    ``gtFine/{split}/{city}/*_gtFine_polygons.json``. Returns ``root``."""
    _prepare_root(root, overwrite, _info('cityscapes', num_train, num_val,
                                         num_test, seed, size))
    counts = {'train': num_train, 'val': num_val, 'test': num_test}
    for split, count in counts.items():
        cities = CITYSCAPES_CITIES[split]
        for index in range(count):
            city = cities[index % len(cities)]
            stem = f'{city}_{index // len(cities):06d}_000019'
            scene = render_scene(_image_rng(seed, split, index), *size)
            image_dir = osp.join(root, 'leftImg8bit', split, city)
            os.makedirs(image_dir, exist_ok=True)
            _write_png(osp.join(image_dir, f'{stem}_leftImg8bit.png'),
                       scene.image)
            if split == 'test':
                continue
            label_dir = osp.join(root, 'gtFine', split, city)
            os.makedirs(label_dir, exist_ok=True)
            with open(osp.join(label_dir, f'{stem}_gtFine_polygons.json'),
                      'w') as f:
                json.dump(
                    dict(
                        imgHeight=size[1],
                        imgWidth=size[0],
                        objects=cityscapes_objects(scene)), f)
    return root


def _info(fmt, num_train, num_val, num_test, seed, size) -> dict:
    return dict(
        format=fmt,
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        seed=seed,
        size=list(size),
        generator_version=GENERATOR_VERSION)


def make_demo_data(out_dir: str,
                   fmt: str = 'kitti',
                   num_train: int = 200,
                   num_val: int = 50,
                   num_test: int = 0,
                   seed: int = 0,
                   overwrite: bool = False,
                   size: Optional[Tuple[int, int]] = None) -> str:
    """Write demo data of format ``fmt`` to ``out_dir/fmt``; return that
    folder. ``size`` (W, H) defaults to the format's demo size."""
    if fmt not in DEMO_FORMATS:
        raise ValueError(f'format must be one of {DEMO_FORMATS}, got {fmt!r}')
    make = make_demo_kitti if fmt == 'kitti' else make_demo_cityscapes
    default_size = KITTI_DEMO_SIZE if fmt == 'kitti' else CITYSCAPES_DEMO_SIZE
    return make(
        osp.join(out_dir, fmt),
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        seed=seed,
        size=size or default_size,
        overwrite=overwrite)
