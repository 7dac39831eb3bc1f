"""Saved predictions (``tools/test.py --out results.pkl``) with their
ground truth, for the analyses of :mod:`yolo_plugin.evaluation.analysis`
(``tools/analysis/``)."""
from typing import Dict, Optional

import numpy as np
from mmengine.fileio import load

from yolo_plugin.evaluation.analysis import DetectionSet
from .config import build_split_dataset, load_config


def load_detection_set(config: str,
                       results: str,
                       cfg_options: Optional[Dict] = None) -> DetectionSet:
    """Predictions from a ``DumpDetResults`` pickle, ground truth from it
    (``instances`` in the test pipeline's meta keys) or else from the
    config's test dataset, image by image (mmdet's analysis tools do the
    same); classes from the dataset.

    Raises:
        ValueError: when the pickle and the dataset differ in length or
            image ids.
    """
    cfg = load_config(config, cfg_options)
    samples = load(results)
    dataset = build_split_dataset(cfg, 'test', pipeline=[], lazy_init=True)
    if all('instances' in sample for sample in samples):
        instances = [sample['instances'] for sample in samples]
    else:
        dataset.full_init()
        if len(dataset) != len(samples):
            raise ValueError(
                f'{results} holds {len(samples)} images but the test dataset '
                f'of {config} has {len(dataset)}')
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        mismatch = [
            i for i, (info, sample) in enumerate(zip(infos, samples))
            if 'img_id' in sample and sample['img_id'] != info['img_id']
        ]
        if mismatch:
            i = mismatch[0]
            raise ValueError(
                f'{results}: image {i} has img_id {samples[i]["img_id"]} '
                f'but the dataset of {config} has {infos[i]["img_id"]}')
        instances = [info['instances'] for info in infos]
    predictions = [{
        key: np.asarray(value)
        for key, value in sample['pred_instances'].items()
        if key in ('bboxes', 'scores', 'labels')
    } for sample in samples]
    return DetectionSet.from_lists(dataset.metainfo['classes'], instances,
                                   predictions)
