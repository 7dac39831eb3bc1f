"""Random COCO-style test data and pycocotools run on it from a json file
(the reference of our COCO evaluation), with the ignored instances
written as crowd annotations by this module's own loop."""
import json
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from .samples import random_image

CLASSES = ('car', 'person', 'bike')


def random_images(seed: int, num_images: int = 40, classes: Sequence[str] = CLASSES,
                  max_detections: int = 400, sizes: Tuple[float, float] = (4., 150.)
                  ) -> Tuple[List[Dict], List[Dict]]:
    """Ground truth with labelled, crowd (ignore_flag=1) and unlabelled
    (-1) instances of ``sizes`` px; up to ``max_detections`` detections an
    image (400: AP at 100 and 1000 max detections, per image and class,
    differ)."""
    rng = np.random.default_rng(seed)
    infos, dets = [], []
    for i in range(num_images):
        instances, det = random_image(rng, len(classes), 9, max_detections, 400., sizes, 8.)
        infos.append(dict(img_id=3 * i + 1, img_path=f'{i}.png', height=600, width=600,
                          instances=instances))
        dets.append(det)
    return infos, dets


def coco_results(infos: Sequence[Dict], dets: Sequence[Dict]) -> List[Dict]:
    """The detections as a COCO results list (xywh boxes)."""
    return [
        dict(image_id=info['img_id'], category_id=int(label),
             bbox=[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
             score=float(score))
        for info, det in zip(infos, dets)
        for b, score, label in zip(det['bboxes'], det['scores'], det['labels'])
    ]


def pycocotools_eval(infos: Sequence[Dict], dets: Sequence[Dict], tmp_path,
                     classes: Sequence[str] = CLASSES,
                     iou_thrs: Optional[Sequence[float]] = None,
                     max_dets: Sequence[int] = (100, 300, 1000)) -> COCOeval:
    """pycocotools' COCOeval, evaluated, accumulated and summarised."""
    annotations = []
    for info in infos:
        for inst in info['instances']:
            x1, y1, x2, y2 = inst['bbox']
            label = inst['bbox_label']
            for category in ([label] if label >= 0 else range(len(classes))):
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=info['img_id'], category_id=category,
                    bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
                    iscrowd=int(inst['ignore_flag'] or label < 0)))
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(
        images=[dict(id=i['img_id'], width=i['width'], height=i['height']) for i in infos],
        categories=[dict(id=k, name=n) for k, n in enumerate(classes)],
        annotations=annotations)))
    coco_gt = COCO(str(path))
    coco_eval = COCOeval(coco_gt, coco_gt.loadRes(coco_results(infos, dets)), 'bbox')
    coco_eval.params.maxDets = list(max_dets)
    if iou_thrs is not None:
        coco_eval.params.iouThrs = np.asarray(iou_thrs, float)
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
    return coco_eval
