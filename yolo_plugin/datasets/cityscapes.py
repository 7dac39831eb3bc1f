"""Cityscapes boxes from the raw ``gtFine`` polygon files."""
import glob
import json
import math
import os.path as osp
from typing import Iterator, List, Optional, Tuple

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
class CityscapesGtFineDataset(BaseDrivingDataset):
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

    A polygon whose points all lie on one line (or coincide) encloses no
    area, although its box, by the rule above, is at least one pixel wide:
    of an ignored instance (group, or label outside the classes) it is
    dropped, counted in ``num_dropped_ignored_regions``; of an object of
    the classes it is a bad sample. ``"objects": []`` (or stuff only)
    gives a frame without instances, counted in ``num_empty_frames``.

    Its registered name differs from mmdet's ``CityscapesDataset`` (which
    reads Cityscapes converted to COCO json), so both stay reachable under
    the ``yolo_plugin`` scope.

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
                     height: int) -> List[Optional[dict]]:
        city, stem = ref
        return self._parse_polygons(
            osp.join(self._dir('gtFine'), city, stem + POLYGONS_SUFFIX), width,
            height)

    def _parse_polygons(self, path: str, width: int,
                        height: int) -> List[Optional[dict]]:
        """One instance (or None, see :meth:`_parse_instance`) per object
        with an instance label or its group label."""
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
        return [
            self._parse_instance(polygon, label, where, path, width, height)
            for polygon, label, where in _instance_objects(
                ann['objects'], path)
        ]

    def _parse_instance(self, polygon, label: str, where: str, path: str,
                        width: int, height: int) -> Optional[dict]:
        """The instance dict of the json ``polygon`` of an object with an
        instance (or group) ``label``; None for an ignored polygon
        enclosing no area (see the class doc)."""
        base_label, is_group = _split_group(label)
        class_index = self.label_of_type[base_label]
        ignored = is_group or class_index < 0
        points = _checked_points(polygon, path, where)
        if _on_one_line(points):
            if ignored:
                return None
            raise BadSampleError.at(
                path, f'{where}: polygon {shown(polygon)} encloses '
                'no area (its points lie on one line)', 'bad polygon')
        bbox = fit_box_to_image(
            _pixel_extent(points), width, height, math.inf, path, None,
            f'{where}: box')
        return dict(
            bbox=bbox,
            bbox_label=class_index,
            ignore_flag=int(ignored),
            cityscapes_label=label)


def _instance_objects(objects: list,
                      path: str) -> Iterator[Tuple[object, str, str]]:
    """``(polygon, label, where)`` of each json object in ``objects`` that
    gives an instance: not deleted, with an instance label or its group
    label; ``polygon`` is as found (None when absent), ``where`` names the
    object in messages. Stuff is passed over.

    Raises:
        BadSampleError: an object without a label string, with a
            ``deleted`` other than 0 or 1, or with an unknown label.
    """
    for number, obj in enumerate(objects):
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
            continue
        base_label, _ = _split_group(label)
        if base_label not in CITYSCAPES_LABELS:
            raise BadSampleError.at(path, f'{where}: unknown Cityscapes '
                                    'label', 'unknown class')
        if base_label in CITYSCAPES_INSTANCE_LABELS:
            yield obj.get('polygon'), label, where


def _split_group(label: str) -> Tuple[str, bool]:
    """``('car', True)`` for the crowd label ``'cargroup'``, ``(label,
    False)`` for any other."""
    if label not in CITYSCAPES_LABELS and label.endswith(GROUP_SUFFIX):
        return label[:-len(GROUP_SUFFIX)], True
    return label, False


def _checked_points(polygon, path: str,
                    where: str) -> List[Tuple[float, float]]:
    """The (x, y) points (pixels) of a json polygon [[x, y], ...].

    Raises:
        BadSampleError: not a list of at least 3 pairs of finite numbers.
    """
    points_ok = isinstance(polygon, list) and len(polygon) >= 3 and all(
        isinstance(p, (list, tuple)) and len(p) == 2
        and all(_is_finite_number(v) for v in p) for p in polygon)
    if not points_ok:
        raise BadSampleError.at(
            path, f'{where}: polygon must be a list of at least 3 [x, y] '
            f'finite numbers, got {shown(polygon)}', 'malformed json')
    return [(float(x), float(y)) for x, y in polygon]


def _pixel_extent(points: List[Tuple[float, float]]) -> List[float]:
    """``[min x, min y, max x + 1, max y + 1]`` of the points (pixels)."""
    xs, ys = zip(*points)
    return [min(xs), min(ys), max(xs) + 1.0, max(ys) + 1.0]


def _on_one_line(points: List[Tuple[float, float]]) -> bool:
    """Whether all the points lie on one straight line (or coincide): the
    polygon then encloses no area (exact test; Cityscapes' coordinates are
    integers)."""
    x0, y0 = points[0]
    offsets = [(x - x0, y - y0) for x, y in points if (x, y) != (x0, y0)]
    if not offsets:
        return True
    dx, dy = offsets[0]
    return all(dx * y - dy * x == 0 for x, y in offsets)


def _is_finite_number(value) -> bool:
    """An int or float (not a bool) that a float holds and is finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False
