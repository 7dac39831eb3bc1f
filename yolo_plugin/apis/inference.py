"""Detections on image files with a trained checkpoint (``tools/infer.py``):
annotated images and one json file of all detections."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmcv.cnn import fuse_conv_bn
from mmdet.structures import DetDataSample
from mmdet.utils import get_test_pipeline_cfg
from mmdet.visualization import DetLocalVisualizer
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import load_checkpoint
from tqdm import tqdm

from yolo_plugin.models.detectors import YOLODetector
from yolo_plugin.registry import DATASETS, MODELS
from .config import load_config, split_dataset_cfg

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
DETECTIONS_FILE = 'detections.json'


def list_images(path: str) -> List[str]:
    """``path`` itself (an image file) or the image files under the folder
    ``path`` (recursively, sorted).

    Raises:
        FileNotFoundError: when ``path`` does not exist or holds no image.
    """
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'no such image or folder: {path}')
    images = sorted(
        osp.join(folder, name) for folder, _, names in os.walk(path) for name in names
        if name.lower().endswith(IMAGE_SUFFIXES))
    if not images:
        raise FileNotFoundError(f'{path} holds no image ({", ".join(IMAGE_SUFFIXES)})')
    return images


def dataset_meta_of(cfg: Config, checkpoint: dict) -> Dict:
    """Class names (and palette) saved in the checkpoint, else those of the
    config's test dataset type and ``metainfo``."""
    meta = checkpoint.get('meta', {}).get('dataset_meta')
    if meta:
        return {key.lower(): value for key, value in meta.items()}
    dataset_cfg = split_dataset_cfg(cfg, 'test')
    meta = dict(DATASETS.get(dataset_cfg['type']).METAINFO)
    meta.update(dataset_cfg.get('metainfo') or {})
    return meta


def build_detector(cfg: Config) -> torch.nn.Module:
    """The detector of ``cfg.model`` (built in the ``yolo_plugin`` scope),
    weights as constructed."""
    with DefaultScope.overwrite_default_scope('yolo_plugin'):
        return MODELS.build(cfg.model)


def load_detector(config: str, checkpoint: str, device: str = 'cpu',
                  cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """The config's model with the checkpoint's weights, in eval mode on
    ``device`` (a :class:`YOLODetector` with conv + BN fused);
    ``model.cfg`` holds the config and ``model.dataset_meta`` the classes."""
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'yolo_plugin'))
    model = MODELS.build(cfg.model)
    saved = load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.cfg = cfg
    model.dataset_meta = dataset_meta_of(cfg, saved)
    model = model.to(device).eval()
    # YOLODetector's fusion also restores its memory format; mmdet's detectors get mmcv's
    return model.fuse_conv_bn() if isinstance(model, YOLODetector) else fuse_conv_bn(model)


def detect(model: torch.nn.Module, pipeline: Compose,
           images: Sequence[Union[str, np.ndarray]]) -> List[DetDataSample]:
    """The data samples, with ``pred_instances`` in original-image pixels,
    of ``model`` on ``images`` (one batch: image files, or ``(h, w, 3)``
    BGR arrays when the pipeline loads with ``LoadImageFromNDArray``)
    through ``pipeline``: the config's test pipeline, as mmdet's
    ``inference_detector`` runs it (``get_test_pipeline_cfg``)."""
    batch = pseudo_collate([pipeline(dict(img_path=image) if isinstance(image, str)
                                     else dict(img=image)) for image in images])
    with torch.no_grad():
        return model.test_step(batch)


def detections_to_json(pred, classes: Sequence[str], score_thr: float) -> List[dict]:
    """Detections of one image at or above ``score_thr`` as json-ready dicts
    (``bbox`` xyxy original-image pixels, ``score``, ``label``, ``class``)."""
    keep = pred.scores >= score_thr
    boxes = pred.bboxes[keep].cpu().numpy().round(2).tolist()
    scores = pred.scores[keep].cpu().numpy().round(4).tolist()
    labels = pred.labels[keep].cpu().numpy().tolist()
    return [dict(bbox=box, score=score, label=label, **{'class': classes[label]})
            for box, score, label in zip(boxes, scores, labels)]


def infer(model: torch.nn.Module, images: Sequence[str], out_dir: str,
          score_thr: float = 0.3, batch_size: int = 4, root: Optional[str] = None,
          progress: bool = True) -> str:
    """Detect objects in ``images``; write each annotated image (its path
    relative to ``root``, by default the images' common folder) and
    ``detections.json`` to ``out_dir``.

    Returns:
        The path of the json file.
    """
    pipeline = Compose(get_test_pipeline_cfg(model.cfg))
    classes = list(model.dataset_meta['classes'])
    visualizer = DetLocalVisualizer(name='yolo_plugin-infer')
    visualizer.dataset_meta = model.dataset_meta
    if root is None:
        root = osp.commonpath([osp.dirname(osp.abspath(p)) for p in images])
    records = []
    bar = tqdm(total=len(images), desc='infer', unit='img', disable=not progress)
    for start in range(0, len(images), batch_size):
        paths = images[start:start + batch_size]
        for path, sample in zip(paths, detect(model, pipeline, paths)):
            name = osp.relpath(osp.abspath(path), root)
            image = mmcv.imread(path, channel_order='rgb')
            visualizer.add_datasample(name, image, sample, draw_gt=False,
                                      pred_score_thr=score_thr,
                                      out_file=osp.join(out_dir, name))
            height, width = image.shape[:2]
            records.append(dict(file=name, width=width, height=height,
                                detections=detections_to_json(
                                    sample.pred_instances, classes, score_thr)))
        bar.update(len(paths))
    bar.close()
    out_file = osp.join(out_dir, DETECTIONS_FILE)
    os.makedirs(out_dir, exist_ok=True)
    with open(out_file, 'w') as f:
        json.dump(dict(classes=classes, score_thr=score_thr, images=records), f, indent=1)
    return out_file

