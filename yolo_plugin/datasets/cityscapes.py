"""Cityscapes boxes from the raw ``gtFine`` polygon files."""
import glob
import json
import math
import os.path as osp
from typing import List, Optional, Tuple

from yolo_plugin.registry import DATASETS
from .bad_samples import BadSampleError, read_text, shown
from .base_driving_dataset import BaseDrivingDataset, fit_box_to_image

IMAGE_SUFFIX = '_leftImg8bit.png'
POLYGONS_SUFFIX = '_gtFine_polygons.json'
#: Every label name of Cityscapes (the ``labels.py`` of cityscapesScripts).
CITYSCAPES_LABELS = ('unlabeled', 'ego vehicle', 'rectification border',
                     'out of roi', 'static', 'dynamic', 'ground', 'road',
                     'sidewalk', 'parking', 'rail track', 'building', 'wall',
                     'fence', 'guard rail', 'bridge', 'tunnel', 'pole',
                     'polegroup', 'traffic light', 'traffic sign',
                     'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
                     'truck', 'bus', 'caravan', 'trailer', 'train',
                     'motorcycle', 'bicycle', 'license plate')
#: The labels with instances; the other labels (stuff) give no boxes.
CITYSCAPES_INSTANCE_LABELS = ('person', 'rider', 'car', 'truck', 'bus',
                              'caravan', 'trailer', 'train', 'motorcycle',
                              'bicycle')
GROUP_SUFFIX = 'group'


@DATASETS.register_module()
class CityscapesDataset(BaseDrivingDataset):
    """Cityscapes boxes read from the folders as downloaded::

        data_root/
          leftImg8bit/{split}/{city}/{city}_{seq}_{frame}_leftImg8bit.png
          gtFine/{split}/{city}/{city}_{seq}_{frame}_gtFine_polygons.json

    A json holds ``imgHeight``, ``imgWidth`` and ``objects``: dicts with
    ``label`` and ``polygon`` ([[x, y], ...], integer pixel coordinates).
    The box of a polygon is the pixel extent of its rasterisation,
    ``[min x, min y, max x + 1, max y + 1]``, clipped to the image.
    Instance labels outside the classes (e.g. caravan, trailer) become
    ignored instances with ``bbox_label=-1``; crowd labels (``cargroup``,
    ``persongroup``, ...) become ignored instances keeping the label of
    their class. Stuff labels (road, sky, ...) and objects marked
    ``deleted`` give no instance. Every instance keeps its raw label as
    ``cityscapes_label``; ``img_id`` is the index of the image in the
    sorted list of the split.

    Registered in yolo_plugin's registry, it shadows mmdet's COCO-json
    ``CityscapesDataset`` under the ``yolo_plugin`` scope (mmdet's stays
    reachable as ``mmdet.CityscapesDataset``).

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        with_annotations: read ``gtFine``; defaults to False for the test
            split (its labels are withheld), else True.
        **kwargs: see :class:`BaseDrivingDataset`.
    """

    METAINFO = dict(
        classes=('person', 'rider', 'car', 'truck', 'bus', 'train',
                 'motorcycle', 'bicycle'),
        palette=[(220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
                 (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32)])
    OBJECT_TYPES = CITYSCAPES_INSTANCE_LABELS
    PALETTE_BY_NAME = dict(
        zip(METAINFO['classes'], METAINFO['palette']),
        caravan=(0, 0, 90),
        trailer=(0, 0, 110))

    def __init__(self,
                 *args,
                 split: str,
                 with_annotations: Optional[bool] = None,
                 **kwargs) -> None:
        self.split = split
        if with_annotations is None:
            with_annotations = split != 'test'
        super().__init__(*args, with_annotations=with_annotations, **kwargs)

    def selection(self) -> dict:
        return dict(split=self.split)

    def _dir(self, kind: str) -> str:
        return osp.join(self.data_root, kind, self.split)

    def list_samples(self) -> List[Tuple[str, str]]:
        """(city, frame stem) of every image (and label file) of the split."""
        found = set()
        folders = [('leftImg8bit', IMAGE_SUFFIX)]
        if self.with_annotations:
            folders.append(('gtFine', POLYGONS_SUFFIX))
        for kind, suffix in folders:
            if not osp.isdir(self._dir(kind)):
                raise FileNotFoundError(
                    f'{self._dir(kind)}: Cityscapes folder not found; '
                    f'expected data_root/{kind}/{self.split}/{{city}}/'
                    f'*{suffix}')
            for path in glob.glob(osp.join(self._dir(kind), '*', '*' + suffix)):
                found.add((osp.basename(osp.dirname(path)),
                           osp.basename(path)[:-len(suffix)]))
        return sorted(found)

    def image_path(self, ref: Tuple[str, str]) -> str:
        city, stem = ref
        return osp.join(self._dir('leftImg8bit'), city, stem + IMAGE_SUFFIX)

    def image_id(self, ref: Tuple[str, str], index: int) -> int:
        return index

    def parse_labels(self, ref: Tuple[str, str], width: int,
                     height: int) -> List[dict]:
        city, stem = ref
        return self._parse_polygons(
            osp.join(self._dir('gtFine'), city, stem + POLYGONS_SUFFIX), width,
            height)

    def _parse_polygons(self, path: str, width: int,
                        height: int) -> List[dict]:
        if not osp.isfile(path):
            raise BadSampleError.at(path, 'polygon file not found',
                                    'missing label file')
        text = read_text(path)
        try:
            ann = json.loads(text)
        except json.JSONDecodeError as err:
            raise BadSampleError.at(path, f'malformed JSON: {err.msg}',
                                    'malformed json', err.lineno) from err
        except RecursionError as err:
            raise BadSampleError.at(path, 'malformed JSON: nested too deeply',
                                    'malformed json') from err
        if not (isinstance(ann, dict) and isinstance(ann.get('objects'), list)
                and {'imgHeight', 'imgWidth'} <= set(ann)):
            raise BadSampleError.at(
                path, 'expected a JSON object with imgHeight, imgWidth and '
                'a list objects', 'malformed json')
        if (ann['imgWidth'], ann['imgHeight']) != (width, height):
            raise BadSampleError.at(
                path, f'imgWidth x imgHeight {ann["imgWidth"]}x'
                f'{ann["imgHeight"]} differs from the image ({width}x'
                f'{height})', 'size mismatch')
        if not ann['objects']:
            raise BadSampleError.at(path, 'no objects (empty label file)',
                                    'empty label file')
        instances = []
        for number, obj in enumerate(ann['objects']):
            instance = self._parse_object(obj, number, path, width, height)
            if instance is not None:
                instances.append(instance)
        return instances

    def _parse_object(self, obj: dict, number: int, path: str, width: int,
                      height: int) -> Optional[dict]:
        """One json object -> an instance dict, or None for stuff."""
        label = obj.get('label') if isinstance(obj, dict) else None
        where = f'object #{number} (label {shown(label)})'
        if not isinstance(label, str):
            raise BadSampleError.at(path, f'{where}: no label string',
                                    'malformed json')
        deleted = obj.get('deleted', False)
        if deleted not in (0, 1):  # also False, True
            raise BadSampleError.at(
                path, f'{where}: deleted must be 0 or 1 (or false, true), '
                f'got {shown(deleted)}', 'malformed json')
        if deleted:
            return None
        is_group = (label not in CITYSCAPES_LABELS
                    and label.endswith(GROUP_SUFFIX))
        base_label = label[:-len(GROUP_SUFFIX)] if is_group else label
        if base_label not in CITYSCAPES_LABELS:
            raise BadSampleError.at(path, f'{where}: unknown Cityscapes '
                                    'label', 'unknown class')
        if base_label not in CITYSCAPES_INSTANCE_LABELS:
            return None
        bbox = fit_box_to_image(
            _polygon_extent(obj.get('polygon'), path, where), width, height,
            math.inf, path, None, f'{where}: box')
        class_index = self.label_of_type[base_label]
        return dict(
            bbox=bbox,
            bbox_label=class_index,
            ignore_flag=int(is_group or class_index < 0),
            cityscapes_label=label)


def _polygon_extent(polygon, path: str, where: str) -> List[float]:
    """``[min x, min y, max x + 1, max y + 1]`` of [[x, y], ...] (pixels)."""
    points_ok = isinstance(polygon, list) and len(polygon) >= 3 and all(
        isinstance(p, (list, tuple)) and len(p) == 2
        and all(_is_finite_number(v) for v in p) for p in polygon)
    if not points_ok:
        raise BadSampleError.at(
            path, f'{where}: polygon must be a list of at least 3 [x, y] '
            f'finite numbers, got {shown(polygon)}', 'malformed json')
    xs = [float(p[0]) for p in polygon]
    ys = [float(p[1]) for p in polygon]
    return [min(xs), min(ys), max(xs) + 1.0, max(ys) + 1.0]


def _is_finite_number(value) -> bool:
    """An int or float (not a bool) that a float holds and is finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False
