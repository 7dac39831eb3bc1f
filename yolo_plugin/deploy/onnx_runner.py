"""Run a detector exported by :func:`yolo_plugin.deploy.export.export_onnx`
with numpy, OpenCV and ONNX Runtime only (no torch, mmcv, mmengine, mmdet).

This file imports nothing else of ``yolo_plugin``: copy it next to the
``.onnx`` file on a deployment machine and use it as a module or a script::

    from onnx_runner import ONNXDetector, read_image
    detector = ONNXDetector('yolov3_kitti.onnx')
    dets = detector([read_image('frame.png')])[0]  # boxes in image pixels

    python onnx_runner.py yolov3_kitti.onnx frame.png [frame2.png ...]

The preprocessing is the config's test pipeline, stored in the model's
metadata at export: mmcv's ``Resize`` (``keep_ratio``: the image scaled as
large as fits the scale, long edge to long side) and a ``Pad`` to the
graph's input size at the bottom and right, as a PyTorch batch is padded.
"""
import argparse
import json
import os
from dataclasses import dataclass
from typing import List, NamedTuple, Sequence, Tuple

import cv2
import numpy as np
import onnxruntime as ort

# The model metadata key (``metadata_props``) of the export's JSON record.
METADATA_KEY = 'yolo_plugin'
# mmcv's ``imresize`` interpolation names, as OpenCV flags.
INTERPOLATIONS = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos': cv2.INTER_LANCZOS4,
}


@dataclass(frozen=True)
class Preprocess:
    """How an image becomes the graph's input.

    Attributes:
        input_size: ``(H, W)`` of the graph input, pixels.
        resize_scale: ``(w, h)`` of the test pipeline's ``Resize``.
        keep_ratio: ``Resize``'s ``keep_ratio``.
        interpolation: ``Resize``'s interpolation, a key of ``INTERPOLATIONS``.
        pad_value: raw pixel value of the padding (``Pad``'s ``pad_val``).
    """
    input_size: Tuple[int, int]
    resize_scale: Tuple[int, int]
    keep_ratio: bool = True
    interpolation: str = 'bilinear'
    pad_value: float = 0.0

    def to_json(self) -> dict:
        """The fields the model metadata stores (the input size is the
        graph's own)."""
        return dict(resize_scale=list(self.resize_scale), keep_ratio=self.keep_ratio,
                    interpolation=self.interpolation, pad_value=self.pad_value)

    @classmethod
    def from_json(cls, record: dict, input_size: Tuple[int, int]) -> 'Preprocess':
        return cls(input_size=tuple(input_size), resize_scale=tuple(record['resize_scale']),
                   keep_ratio=record['keep_ratio'], interpolation=record['interpolation'],
                   pad_value=record['pad_value'])


class Letterboxed(NamedTuple):
    """An image resized and padded to the graph's input size."""
    image: np.ndarray  # (H, W, 3) same dtype and channel order as the input
    scale_factor: Tuple[float, float]  # (w, h) resized / original size


class Detections(NamedTuple):
    """Detections of one image, best first."""
    boxes: np.ndarray  # (n, 4) float32 xyxy, original-image pixels
    scores: np.ndarray  # (n,) float32, objectness x class probability
    labels: np.ndarray  # (n,) int64 class index


def _scaled(width: int, height: int, factor: float) -> Tuple[int, int]:
    """mmcv's ``_scale_size``: sizes times ``factor``, rounded half up."""
    return int(width * factor + 0.5), int(height * factor + 0.5)


def resized_size(width: int, height: int, preprocess: Preprocess) -> Tuple[int, int]:
    """``(w, h)`` the test pipeline's ``Resize`` gives an image of ``width`` x
    ``height``: with ``keep_ratio`` mmcv's ``rescale_size`` (one factor,
    ``min(long side / long edge, short side / short edge)``), else the scale
    itself. An image that the pipeline would make larger than the input (an
    orientation other than the scale's) is fitted inside the input instead."""
    if not preprocess.keep_ratio:
        return preprocess.resize_scale
    scale_w, scale_h = preprocess.resize_scale
    size = _scaled(width, height, min(max(scale_w, scale_h) / max(width, height),
                                      min(scale_w, scale_h) / min(width, height)))
    input_h, input_w = preprocess.input_size
    if size[0] > input_w or size[1] > input_h:
        size = _scaled(width, height, min(input_w / width, input_h / height))
    return size


def pad_to_input(resized: np.ndarray, preprocess: Preprocess) -> np.ndarray:
    """A resized image ``(h, w, C)`` padded at the bottom and right to
    ``preprocess.input_size`` with ``pad_value``.

    Raises:
        ValueError: when the image is larger than the input.
    """
    height, width = resized.shape[:2]
    input_h, input_w = preprocess.input_size
    if height > input_h or width > input_w:
        raise ValueError(f'a {width} x {height} resized image is larger than the model '
                         f'input {input_w} x {input_h}')
    padded = np.full((input_h, input_w) + resized.shape[2:], preprocess.pad_value,
                     resized.dtype)
    padded[:height, :width] = resized
    return padded


def letterbox(image: np.ndarray, preprocess: Preprocess) -> Letterboxed:
    """Resize ``image`` ``(h, w, C)`` as the test pipeline does and pad it
    at the bottom and right to ``preprocess.input_size``."""
    height, width = image.shape[:2]
    new_w, new_h = resized_size(width, height, preprocess)
    resized = cv2.resize(image, (new_w, new_h),
                         interpolation=INTERPOLATIONS[preprocess.interpolation])
    return Letterboxed(pad_to_input(resized, preprocess), (new_w / width, new_h / height))


def to_input(letterboxed_bgr: Sequence[np.ndarray]) -> np.ndarray:
    """BGR ``(H, W, 3)`` images -> the graph input ``(N, 3, H, W)`` float32
    RGB, values 0-255."""
    batch = np.stack(letterboxed_bgr)[..., ::-1].transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=np.float32)


def read_image(path: str) -> np.ndarray:
    """The image file as ``(h, w, 3)`` uint8 BGR, as the test pipeline's
    ``LoadImageFromFile`` reads it (OpenCV, EXIF orientation applied)."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f'cannot read an image from {path}')
    return image


def read_export_record(session: ort.InferenceSession, onnx_file: str) -> dict:
    """The JSON record :func:`export_onnx` stores in the model metadata."""
    record = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if record is None:
        raise ValueError(f'{onnx_file} has no {METADATA_KEY!r} metadata: export it with '
                         'tools/export_onnx.py')
    return json.loads(record)


class ONNXDetector:
    """An exported detector on ONNX Runtime: images in, detections in
    original-image pixels out.

    Args:
        onnx_file: a model written by ``tools/export_onnx.py`` (fp32 or int8).
        providers: ONNX Runtime execution providers, default the CPU's.
        num_threads: intra-op threads; 0 lets ONNX Runtime choose.
        batch_size: images a run for a model exported with
            ``--dynamic-batch`` (a model exported without it runs one at a
            time).

    Raises:
        ValueError: a model without the export's metadata, or with a fixed
            batch other than 1 (``tools/export_onnx.py`` writes 1 or a
            dynamic batch).
    """

    def __init__(self, onnx_file: str, providers: Sequence[str] = ('CPUExecutionProvider', ),
                 num_threads: int = 0, batch_size: int = 8) -> None:
        if not os.path.isfile(onnx_file):
            raise FileNotFoundError(f'ONNX model not found: {onnx_file}')
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(onnx_file, options, providers=list(providers))
        record = read_export_record(self.session, onnx_file)
        graph_input = self.session.get_inputs()[0]
        batch, _, input_h, input_w = graph_input.shape
        if isinstance(batch, int) and batch != 1:
            raise ValueError(f'{onnx_file} has a fixed batch of {batch}; '
                             'tools/export_onnx.py writes 1 or, with --dynamic-batch, any')
        self.input_name = graph_input.name
        self.batch_size = 1 if isinstance(batch, int) else batch_size
        self.classes: List[str] = record['classes']
        self.clip_to_image: bool = record['test_cfg']['clip_to_image']
        self.preprocess = Preprocess.from_json(record['preprocess'], (input_h, input_w))

    def __call__(self, images: Sequence[np.ndarray]) -> List[Detections]:
        """Detections of each image ``(h, w, 3)`` uint8 BGR (as
        :func:`read_image` and ``cv2.imread`` give)."""
        boxed = [letterbox(image, self.preprocess) for image in images]
        return [self.to_image_pixels(dets, image.shape[:2], item.scale_factor)
                for dets, image, item in zip(self.run([item.image for item in boxed]), images,
                                             boxed)]

    def run(self, inputs: Sequence[np.ndarray]) -> List[Detections]:
        """Detections in input pixels of letterboxed BGR images ``(H, W, 3)``
        of the input size, in batches of ``batch_size``."""
        results = []
        for start in range(0, len(inputs), self.batch_size):
            num_dets, boxes, scores, labels = self.session.run(
                None, {self.input_name: to_input(inputs[start:start + self.batch_size])})
            results += [Detections(boxes[index, :num], scores[index, :num], labels[index, :num])
                        for index, num in enumerate(num_dets.tolist())]
        return results

    def to_image_pixels(self, dets: Detections, image_hw: Tuple[int, int],
                        scale_factor: Tuple[float, float]) -> Detections:
        """Input-pixel detections -> pixels of the original ``image_hw``
        ``(h, w)`` image that was resized by ``scale_factor`` ``(w, h)``
        (clipped to the image when the config's ``test_cfg.clip_to_image``
        says so)."""
        scale_w, scale_h = scale_factor
        boxes = dets.boxes / np.array([scale_w, scale_h, scale_w, scale_h], np.float32)
        if self.clip_to_image:
            height, width = image_hw
            boxes = np.minimum(boxes.clip(min=0), np.array([width, height] * 2, np.float32))
        return dets._replace(boxes=boxes.astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Detect objects with an exported model; one JSON line an image.')
    parser.add_argument('model', help='.onnx file written by tools/export_onnx.py')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='list detections scoring at least this')
    args = parser.parse_args()
    detector = ONNXDetector(args.model)
    for path in args.images:
        dets = detector([read_image(path)])[0]
        keep = dets.scores >= args.score_thr
        print(json.dumps(dict(
            file=path,
            detections=[dict(bbox=[round(float(v), 2) for v in box], score=round(float(score), 4),
                             label=int(label), **{'class': detector.classes[label]})
                        for box, score, label in zip(dets.boxes[keep], dets.scores[keep],
                                                     dets.labels[keep])])))


if __name__ == '__main__':
    main()
