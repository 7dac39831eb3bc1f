"""The objects of the synthetic scenes, drawn into patches: cars and vans
(side or rear view: body, darker window band, dark wheels), pedestrians
(head, clothes, legs) and cyclists (rider over two wheel rings), in
class-typical but varied colours, each with a mask a part (Cityscapes
labels rider and bicycle apart)."""
from typing import Sequence, Tuple

import cv2
import numpy as np


class Patch:
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


def jitter(rng, colour, amount=18) -> np.ndarray:
    return np.clip(np.asarray(colour) + rng.integers(-amount, amount + 1, 3),
                   0, 255)


def hsv_colour(rng, hue, sat, val) -> np.ndarray:
    """A BGR colour from HSV given as (low, high) ranges (OpenCV units)."""
    hsv = np.array([[[rng.uniform(*hue), rng.uniform(*sat),
                      rng.uniform(*val)]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]


def _car_colour(rng) -> np.ndarray:
    if rng.random() < 0.45:  # white, silver, grey, black
        return hsv_colour(rng, (0, 180), (0, 25), (30, 235))
    return hsv_colour(rng, (0, 180), (140, 255), (90, 220))


def _draw_wheels(patch, rng, centres, radius) -> None:
    tyre = jitter(rng, (30, 30, 32), 10)
    hub = jitter(rng, (140, 140, 140), 25)
    for cx, cy in centres:
        patch.circle('body', tyre, (cx, cy), radius)
        patch.circle('body', hub, (cx, cy), max(1, int(radius * 0.45)))


def _draw_car(rng, w: int, h: int, view: str, van: bool) -> Patch:
    patch = Patch(w, h, ['body'])
    body = _car_colour(rng) if not van else hsv_colour(
        rng, (0, 180), (0, 40), (150, 240))
    window = jitter(rng, (75, 55, 40), 15)
    lamp_red = jitter(rng, (30, 30, 200), 20)
    if view == 'rear':
        tyre = jitter(rng, (35, 35, 35), 8)
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
        patch.rect('body', jitter(rng, (215, 215, 215), 20), 0.38, 0.63,
                   0.62, 0.73)
        patch.rect('body', jitter(rng, (40, 40, 40), 10), 0.0, 0.79, 1.0,
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
    patch.rect('body', jitter(rng, (200, 235, 245), 10), 0.95, 0.5, 1.0,
               0.6)
    patch.rect('body', lamp_red, 0.0, 0.5, 0.03, 0.6)
    if w > 40:
        patch.line('body', body * 0.6, (0.5, 0.44), (0.5, 0.78), 1)
    _draw_wheels(patch, rng, [(int(0.2 * (w - 1)), wheel_y),
                              (int(0.8 * (w - 1)), wheel_y)], radius)
    return patch


def _skin(rng) -> np.ndarray:
    return hsv_colour(rng, (5, 18), (60, 160), (90, 230))


def _draw_pedestrian(rng, w: int, h: int) -> Patch:
    patch = Patch(w, h, ['person'])
    shirt = hsv_colour(rng, (0, 180), (0, 200), (30, 200))
    trousers = hsv_colour(rng, (100, 130), (20, 150), (25, 110))
    stride = rng.uniform(0.0, 0.36) if rng.random() < 0.7 else 0.0
    swing = rng.uniform(0.0, 0.35)
    limb = patch.px(0.065, minimum=2)
    # legs: hips at 0.55 h, feet on the ground
    patch.line('person', trousers, (0.42, 0.55), (0.42 - stride, 0.96), limb)
    patch.line('person', trousers, (0.58, 0.55), (0.58 + stride * 0.8, 0.96),
               limb)
    shoe = jitter(rng, (30, 30, 30), 10)
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


def _draw_cyclist(rng, w: int, h: int) -> Patch:
    patch = Patch(w, h, ['bicycle', 'rider'])
    frame = hsv_colour(rng, (0, 180), (160, 255), (120, 240))
    jersey = hsv_colour(rng, (0, 180), (150, 255), (120, 255))
    trousers = hsv_colour(rng, (0, 180), (0, 80), (20, 90))
    radius = patch.px(0.21, minimum=3)
    ring = patch.px(0.04, minimum=1)
    hub_y = h - 1 - radius
    rear, front = (radius, hub_y), (w - 1 - radius, hub_y)
    tyre = jitter(rng, (30, 30, 32), 10)
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
    patch.circle('rider', jitter(rng, frame, 40),
                 (int(0.64 * (w - 1)), head_r), head_r, max(1, head_r // 3))
    return patch


def draw_object(rng, kind: str, h: int) -> Tuple[Patch, str]:
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


def shaded(pixels: np.ndarray, rng) -> np.ndarray:
    """Top-to-bottom lighting and per-object brightness."""
    h = pixels.shape[0]
    gain = np.linspace(1.12, 0.86, h, dtype=np.float32) * rng.uniform(
        0.85, 1.1)
    return np.clip(pixels * gain[:, None, None], 0, 255).astype(np.uint8)
