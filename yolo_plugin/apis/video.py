"""Detections on a video file or a folder of frames read as one sequence
(``tools/infer.py``): an annotated video, a json file of every frame's
detections, and the frames/s. Any model with the interface of
:func:`yolo_plugin.apis.load_detector` (``cfg``, ``dataset_meta``,
``test_step``) runs, the ONNX Runtime one included."""
import json
import os
import os.path as osp
import time
from typing import Iterator, List, NamedTuple, Optional, Sequence

import cv2
import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.utils import get_test_pipeline_cfg
from mmdet.visualization.palette import get_palette
from mmengine.dataset import Compose
from tqdm import tqdm

from .inference import DETECTIONS_FILE, detect, detections_to_json, list_images

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')
# Frames/s of a frame folder's video unless given: KITTI raw drives' rate.
SEQUENCE_FPS = 10.0
# A KITTI raw drive's left colour camera, under the drive folder.
KITTI_RAW_FRAMES = osp.join('image_02', 'data')


class SequenceResult(NamedTuple):
    """What :func:`infer_sequence` wrote and how fast."""
    video_file: str
    json_file: str
    frames: int
    seconds: float  # the whole loop: decoding, detection, drawing, writing
    detect_seconds: float  # the test pipeline and the model

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)

    @property
    def detect_fps(self) -> float:
        return self.frames / max(self.detect_seconds, 1e-9)


def is_video(path: str) -> bool:
    """``path`` is a file with a video suffix."""
    return osp.isfile(path) and path.lower().endswith(VIDEO_SUFFIXES)


def sequence_frame_files(folder: str) -> List[str]:
    """The frame files of a sequence folder in name order: a KITTI raw
    drive's ``image_02/data/`` when given the drive folder, else every image
    under ``folder`` (Cityscapes' ``leftImg8bit_sequence/<split>/<city>``
    names sort by sequence and frame)."""
    drive_frames = osp.join(folder, KITTI_RAW_FRAMES)
    return list_images(drive_frames if osp.isdir(drive_frames) else folder)


class FrameSource(NamedTuple):
    """Frames ``(h, w, 3)`` uint8 BGR of a video or a frame folder."""
    frames: Iterator[np.ndarray]
    count: int  # frames announced (a video's header may be off)
    fps: float


def open_frames(source: str, fps: Optional[float] = None) -> FrameSource:
    """Read the video file ``source`` with OpenCV, or the frame files of the
    folder ``source`` (:func:`sequence_frame_files`). ``fps``: of the
    output video, default the video's own, or ``SEQUENCE_FPS``.

    Raises:
        FileNotFoundError: naming ``source`` when OpenCV cannot open it.
    """
    if osp.isdir(source):
        files = sequence_frame_files(source)

        def read_files() -> Iterator[np.ndarray]:
            for path in files:
                frame = cv2.imread(path, cv2.IMREAD_COLOR)
                if frame is None:
                    raise FileNotFoundError(f'cannot read the frame {path}')
                yield frame

        return FrameSource(read_files(), len(files), fps or SEQUENCE_FPS)
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise FileNotFoundError(f'OpenCV cannot open the video {source}')

    def frames() -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    return
                yield frame
        finally:
            capture.release()

    return FrameSource(frames(), int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
                       fps or capture.get(cv2.CAP_PROP_FPS) or SEQUENCE_FPS)


def frame_pipeline(cfg) -> Compose:
    """The config's test pipeline on in-memory frames (mmdet's
    ``inference_detector``: its first step ``LoadImageFromNDArray``)."""
    steps = [dict(step) for step in get_test_pipeline_cfg(cfg)]
    steps[0] = dict(type='mmdet.LoadImageFromNDArray')
    return Compose(steps)


def draw_detections(frame: np.ndarray, sample: DetDataSample, classes: Sequence[str],
                    palette: Sequence[tuple], score_thr: float) -> np.ndarray:
    """``frame`` (BGR, drawn on in place) with the boxes, classes and scores
    of ``sample.pred_instances`` scoring at least ``score_thr``."""
    pred = sample.pred_instances
    keep = pred.scores >= score_thr
    for box, score, label in zip(pred.bboxes[keep].cpu().numpy(),
                                 pred.scores[keep].cpu().numpy(),
                                 pred.labels[keep].cpu().numpy()):
        color = tuple(int(c) for c in palette[label][::-1])  # RGB -> BGR
        x1, y1, x2, y2 = box.round().astype(int)
        cv2.rectangle(frame, (x1, y1), (x2, y2), color, 2)
        cv2.putText(frame, f'{classes[label]} {score:.2f}', (x1, max(y1 - 4, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
    return frame


def even_sized(frame: np.ndarray) -> np.ndarray:
    """``frame`` with a black column and row appended where its width and
    height are odd (video encoders drop them)."""
    height, width = frame.shape[:2]
    return cv2.copyMakeBorder(frame, 0, height % 2, 0, width % 2, cv2.BORDER_CONSTANT)


def infer_sequence(model: torch.nn.Module, source: str, out_dir: str,
                   score_thr: float = 0.3, batch_size: int = 4, fps: Optional[float] = None,
                   progress: bool = True) -> SequenceResult:
    """Detect objects in each frame of ``source`` (a video file or a frame
    folder, see :func:`open_frames`) with ``model``, batches of
    ``batch_size`` frames through the config's test pipeline; write
    ``out_dir/<source name>.mp4`` (MPEG-4 part 2; the frames with the
    detections scoring at least ``score_thr``, an odd width or height padded
    by a black pixel: the encoders drop it otherwise) and
    ``out_dir/detections.json``.

    Raises:
        ValueError: when ``source`` has no frame, or frames of several sizes.
        RuntimeError: when OpenCV cannot write the video.
    """
    start = time.perf_counter()
    reader = open_frames(source, fps)
    pipeline = frame_pipeline(model.cfg)
    classes = list(model.dataset_meta['classes'])
    palette = get_palette(model.dataset_meta.get('palette', 'random'), len(classes))
    os.makedirs(out_dir, exist_ok=True)
    name = osp.splitext(osp.basename(osp.normpath(source)))[0]
    video_file = osp.join(out_dir, f'{name}.mp4')
    writer = None
    records = []
    detect_seconds = 0.0
    bar = tqdm(total=reader.count, desc='infer', unit='frame', disable=not progress)
    frames = iter(reader.frames)
    while True:
        batch = [frame for _, frame in zip(range(batch_size), frames)]
        if not batch:
            break
        detect_start = time.perf_counter()
        samples = detect(model, pipeline, batch)
        detect_seconds += time.perf_counter() - detect_start
        for frame, sample in zip(batch, samples):
            if writer is None:
                size = frame.shape[1::-1]
                writer = cv2.VideoWriter(video_file, cv2.VideoWriter_fourcc(*'mp4v'),
                                         reader.fps, even_sized(frame).shape[1::-1])
                if not writer.isOpened():
                    raise RuntimeError(f'OpenCV cannot write the MPEG-4 video {video_file}')
            if frame.shape[1::-1] != size:
                raise ValueError(f'{source}: frame {len(records)} is {frame.shape[1]} x '
                                 f'{frame.shape[0]}, the first {size[0]} x {size[1]}')
            writer.write(even_sized(draw_detections(frame, sample, classes, palette,
                                                    score_thr)))
            records.append(dict(frame=len(records), detections=detections_to_json(
                sample.pred_instances, classes, score_thr)))
        bar.update(len(batch))
    bar.close()
    if writer is None:
        raise ValueError(f'{source} has no frame')
    writer.release()
    json_file = osp.join(out_dir, DETECTIONS_FILE)
    with open(json_file, 'w') as f:
        json.dump(dict(classes=classes, score_thr=score_thr, source=source, fps=reader.fps,
                       frames=records), f, indent=1)
    return SequenceResult(video_file, json_file, len(records), time.perf_counter() - start,
                          detect_seconds)
