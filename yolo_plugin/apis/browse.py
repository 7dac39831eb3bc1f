"""Drawing the ground truth of a config's data set after its pipeline
(``tools/browse_dataset.py``)."""
import os
import os.path as osp
from typing import List, Optional

import mmcv
import numpy as np
from mmdet.structures.bbox import BaseBoxes
from mmdet.visualization import DetLocalVisualizer
from tqdm import tqdm

from yolo_plugin.datasets.transforms.photometric import PHOTOMETRIC_PARAMS_KEY
from yolo_plugin.models.data_preprocessors.photometric_distortion import \
    apply_photometric_distortion
from .config import build_split_dataset

IGNORED_COLOUR = (160, 160, 160)  # RGB


def draw_ground_truth(visualizer: DetLocalVisualizer, item: dict) -> np.ndarray:
    """The network input of a pipeline output ``item`` with its boxes:
    instances in their class colour with the class name, ignored instances
    grey and dashed; with the photometric distortion the pipeline drew
    (``DeferredPhotoMetricDistortion``) applied, as the model's data
    preprocessor does in training. Returns (H, W, 3) uint8 RGB."""
    data_sample = item['data_samples'].numpy()
    # The visualizer draws plain arrays, not box objects.
    for instances in (data_sample.gt_instances, data_sample.ignored_instances):
        if isinstance(instances.get('bboxes'), BaseBoxes):
            instances.bboxes = instances.bboxes.tensor.numpy()
    inputs = item['inputs']
    params = data_sample.metainfo.get(PHOTOMETRIC_PARAMS_KEY)
    if params is not None:
        inputs = apply_photometric_distortion(
            inputs[None].float(), [params], [inputs.shape[1:]])[0]
    img = inputs.permute(1, 2, 0).numpy()[..., ::-1]  # BGR -> RGB
    img = np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))
    visualizer.add_datasample(
        'ground truth', img, data_sample, draw_pred=False, show=False)
    ignored = data_sample.ignored_instances
    if len(ignored) == 0:
        return visualizer.get_image()
    visualizer.set_image(visualizer.get_image())
    visualizer.draw_bboxes(
        ignored.bboxes,
        edge_colors=IGNORED_COLOUR,
        line_styles='--',
        line_widths=visualizer.line_width)
    return visualizer.get_image()


def browse_dataset(cfg,
                   out_dir: str,
                   split: str = 'train',
                   max_images: Optional[int] = None,
                   show_progress: bool = True) -> List[str]:
    """Write the ground truth of the first ``max_images`` (default all)
    samples of ``{split}_dataloader`` after its pipeline as PNG files
    named after the images into ``out_dir``; return their paths."""
    dataset = build_split_dataset(cfg, split)
    visualizer = DetLocalVisualizer.get_instance('yolo_plugin_browse_dataset')
    visualizer.dataset_meta = dataset.metainfo
    os.makedirs(out_dir, exist_ok=True)
    count = len(dataset) if max_images is None else min(
        max_images, len(dataset))
    paths = []
    for index in tqdm(range(count), desc='browsing', disable=not show_progress):
        item = dataset[index]
        name = osp.splitext(osp.basename(item['data_samples'].img_path))[0]
        path = osp.join(out_dir, f'{name}.png')
        mmcv.imwrite(draw_ground_truth(visualizer, item)[..., ::-1], path)
        paths.append(path)
    return paths
