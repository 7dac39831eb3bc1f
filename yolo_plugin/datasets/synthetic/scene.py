"""Synthetic driving-like scenes: a sky / road background with buildings,
trees, poles, signs and blobs, then objects (:mod:`.objects`) drawn far to
near on a perspective ground plane (smaller objects sit nearer the
horizon). Some objects leave the image, nearer objects hide farther ones,
and clusters of tiny far objects form a group (an ignored region). Every
box is the exact pixel extent of what is drawn."""
import math
from dataclasses import dataclass, field
from typing import Dict, List

import cv2
import numpy as np

from .objects import draw_object, hsv_colour, jitter, shaded

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


def _place_object(rng, kind: str, width: int, height: int,
                  horizon: int) -> SceneObject:
    real_height = rng.uniform(*OBJECT_KINDS[kind][1])
    ground_ratio = CAMERA_HEIGHT / real_height  # (bottom - horizon) / h
    max_h = min((height - horizon) / max(ground_ratio - 0.25, 0.3),
                MAX_HEIGHT_FRACTION * height)
    h = int(round(math.exp(rng.uniform(math.log(MIN_HEIGHT),
                                       math.log(max_h)))))
    patch, view = draw_object(rng, kind, h)
    facing = 1 if rng.random() < 0.5 else -1
    pixels, parts = shaded(patch.pixels, rng), patch.parts
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
        patch, _ = draw_object(rng, 'Car' if kind == 'CarGroup' else
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
    sky_top = hsv_colour(rng, (95, 115), (40, 140), (170, 245))
    sky_low = jitter(rng, (215, 210, 205), 25)
    road_far = jitter(rng, (120, 118, 115), 20)
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
        cv2.fillPoly(img, [pts], jitter(rng, (150, 150, 148), 15).tolist())
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
                      jitter(rng, (90, 90, 95), 30).tolist(), -1)
        if rng.random() < 0.6:
            sign = hsv_colour(rng, (0, 180), (150, 255), (150, 255))
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
            wall = hsv_colour(rng, (0, 30), (10, 80), (80, 200))
            cv2.rectangle(img, (x, top), (x + w, horizon), wall.tolist(), -1)
            _draw_windows(img, x, top, w, horizon - top, wall * 0.55)
        else:
            green = hsv_colour(rng, (35, 75), (80, 200), (50, 150))
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
    colour = jitter(rng, (225, 225, 225), 20).tolist()
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
