"""What KITTI and Cityscapes in their raw layouts share: class mapping,
bad-sample handling, the packed cache, filtering and the palette."""
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

from mmcv.transforms import LoadImageFromFile
from mmdet.datasets import BaseDetDataset
from mmengine.logging import print_log

from .bad_samples import BadSampleError, check_on_bad_sample, summarize_skips
from .image_io import read_image_size
from .packed import PackedImageFile
from .transforms import LoadImageFromPackOrFile

# Colours (RGB) of the palette for classes without one of their own.
_FALLBACK_PALETTE = [(220, 20, 60), (0, 0, 142), (119, 11, 32), (0, 60, 100),
                     (250, 170, 30), (106, 0, 228), (0, 80, 100),
                     (165, 42, 42), (0, 226, 252), (182, 182, 255)]
_FILTER_KEYS = ('filter_empty_gt', 'min_size')
# Options of mmcv's LoadImageFromFile under which it decodes an image as the
# pack stores it (uint8 BGR, cv2).
_PACK_DECODING = dict(to_float32=False, color_type='color', imdecode_backend='cv2')


class BaseDrivingDataset(BaseDetDataset):
    """Base of the raw-layout driving data sets (mmdet ``data_info`` dicts).

    Subclasses set ``OBJECT_TYPES`` (the raw type names a class can come
    from) and ``PALETTE_BY_NAME``, and implement :meth:`list_samples`,
    :meth:`image_path`, :meth:`image_id`, :meth:`parse_labels` and
    :meth:`selection`.

    Args:
        class_map: raw type -> class name, merging types into a class,
            e.g. ``{'Van': 'Car'}``. Types neither in ``classes`` nor mapped
            into them become ignored instances (``bbox_label=-1``,
            ``ignore_flag=1``).
        on_bad_sample: ``'error'`` raises on the first bad sample (naming
            the file and line); ``'skip'`` leaves it out, logs it and logs a
            summary once the dataset is built (see ``skipped_samples``).
            Applies at load time too: with ``'skip'``, a training sample
            whose image fails to decode is replaced by another one.
        packed_file: read samples and decoded images from this pack file
            (``tools/pack_dataset.py``) instead of the raw files; relative
            to ``data_root``. The pipeline loads images with
            ``LoadImageFromPackOrFile``, or with mmcv's ``LoadImageFromFile``
            (the test pipelines' loader), which the dataset then replaces
            by ``LoadImageFromPackOrFile``.
        with_annotations: read the labels; False gives images without
            instances (inference).
        filter_cfg: ``dict(filter_empty_gt=bool, min_size=int)``: outside
            test mode, drop images with no non-ignored instance, and images
            whose shorter side is below ``min_size`` pixels.
        **kwargs: as mmdet's ``BaseDetDataset`` (``data_root``,
            ``metainfo``, ``pipeline``, ``test_mode``, ...).

    Frames without objects (e.g. empty label files) are kept as background
    frames. Ignored regions of zero or negative area are left out of the
    instances. Once loaded, the dataset logs how many frames have no
    instance (``num_empty_frames``) and how many such regions it dropped
    (``num_dropped_ignored_regions``; per frame in ``data_info``).
    """

    OBJECT_TYPES: Sequence[str] = ()
    PALETTE_BY_NAME: Dict[str, tuple] = {}

    def __init__(self,
                 *args,
                 class_map: Optional[Dict[str, str]] = None,
                 on_bad_sample: str = 'error',
                 packed_file: Optional[str] = None,
                 with_annotations: bool = True,
                 **kwargs) -> None:
        self.class_map = dict(class_map or {})
        self.on_bad_sample = check_on_bad_sample(on_bad_sample)
        self.packed_file = packed_file
        self.with_annotations = with_annotations
        self.skipped_samples: List[BadSampleError] = []
        self.load_time_skips = 0
        self.num_empty_frames = 0
        self.num_dropped_ignored_regions = 0
        self.label_of_type: Dict[str, int] = {}  # raw type -> class or -1
        super().__init__(*args, **kwargs)
        self._metainfo['palette'] = self._palette()
        self._read_images_from_pack()

    # Interface of the subclasses.
    def list_samples(self) -> List[Any]:
        """References to all samples of the selection, in order.

        Raises for problems of the whole selection (missing folder or split
        file); those cannot be skipped.
        """
        raise NotImplementedError

    def image_path(self, ref: Any) -> str:
        """The image file of sample ``ref``."""
        raise NotImplementedError

    def image_id(self, ref: Any, index: int) -> int:
        """The ``img_id`` of sample ``ref``, ``index`` in the list.

        Raises:
            BadSampleError: the sample has no valid id.
        """
        raise NotImplementedError

    def parse_labels(self, ref: Any, width: int,
                     height: int) -> List[Optional[dict]]:
        """The instances of sample ``ref`` on its ``width`` x ``height``
        image, in file order; None in place of each ignored region of zero
        or negative area (left out of the sample and counted).

        Raises:
            BadSampleError: the labels cannot be used.
        """
        raise NotImplementedError

    def selection(self) -> dict:
        """What selects the samples besides the classes, e.g.
        ``dict(split='train')``: checked against a pack's source."""
        raise NotImplementedError

    # Loading.
    def parse_sample(self, ref: Any, index: int) -> dict:
        """The ``data_info`` of sample ``ref`` (``index`` in the list), with
        ``num_dropped_ignored_regions``: the ignored regions of zero or
        negative area left out of its ``instances``.

        Raises:
            BadSampleError: the sample cannot be used.
        """
        img_path = self.image_path(ref)
        img_id = self.image_id(ref, index)
        width, height = read_image_size(img_path)
        parsed = self.parse_labels(ref, width,
                                   height) if self.with_annotations else []
        instances = [inst for inst in parsed if inst is not None]
        return dict(
            img_path=img_path,
            img_id=img_id,
            height=height,
            width=width,
            instances=instances,
            num_dropped_ignored_regions=len(parsed) - len(instances))

    def load_data_list(self) -> List[dict]:
        """Parse the raw files (or read the pack) into ``data_info`` dicts;
        count and log the frames without instances and the dropped ignored
        regions."""
        self.label_of_type = self._label_lookup()
        data_list = (
            self._load_packed() if self.packed_file else self._load_raw())
        if self.with_annotations:
            self._summarize_labels(data_list)
        return data_list

    def _load_raw(self) -> List[dict]:
        """Parse the raw files, skipping bad samples if so configured."""
        refs = self.list_samples()
        data_list, skipped = [], []
        for index, ref in enumerate(refs):
            try:
                data_list.append(self.parse_sample(ref, index))
            except BadSampleError as err:
                if self.on_bad_sample == 'error':
                    raise
                skipped.append(err)
                self._warn(f'skipping a bad sample: {err}')
        self.skipped_samples = skipped
        if skipped:
            self._warn(summarize_skips(self._name(), skipped, len(refs)))
        return data_list

    def pack_source(self) -> dict:
        """The selection a pack of this dataset records (JSON types)."""
        return dict(
            dataset=type(self).__name__,
            classes=list(self.metainfo['classes']),
            class_map=dict(sorted(self.class_map.items())),
            with_annotations=self.with_annotations,
            **self.selection())

    def _load_packed(self) -> List[dict]:
        path = self.packed_file
        if self.data_root and not osp.isabs(path):
            path = osp.join(self.data_root, path)
        pack = PackedImageFile(path)
        expected = self.pack_source()
        if pack.source != expected:
            differing = sorted(
                key for key in set(expected) | set(pack.source)
                if expected.get(key) != pack.source.get(key))
            raise ValueError(
                f'{path} was packed from {pack.source}, but this dataset '
                f'selects {expected} (differing: {differing}); repack it')
        if pack.resize is not None and self.test_mode:
            raise ValueError(
                f'{path} holds images pre-resized into {pack.resize}, whose '
                'boxes are not in original-image pixels: such packs serve '
                'training only. Pack evaluation splits without --resize.')
        print_log(
            f'{self._name()}: {len(pack.samples)} samples from {path}'
            f' ({pack.num_skipped} skipped when packing)',
            logger='current')
        return pack.data_list()

    def _summarize_labels(self, data_list: List[dict]) -> None:
        """Count (and log) the frames without instances and the ignored
        regions of zero or negative area left out."""
        self.num_empty_frames = sum(not info['instances']
                                    for info in data_list)
        self.num_dropped_ignored_regions = sum(
            info['num_dropped_ignored_regions'] for info in data_list)
        if self.num_empty_frames:
            print_log(
                f'{self._name()}: {self.num_empty_frames} of '
                f'{len(data_list)} frames have no objects (kept as '
                'background frames)',
                logger='current')
        if self.num_dropped_ignored_regions:
            self._warn(f'{self._name()}: dropped '
                       f'{self.num_dropped_ignored_regions} degenerate '
                       'ignored regions (zero or negative area)')

    def _label_lookup(self) -> Dict[str, int]:
        """Raw type -> class index, or -1 for types outside the classes."""
        classes = list(self.metainfo['classes'])
        name = self._name()
        if len(set(classes)) != len(classes):
            raise ValueError(f'{name}: duplicate class names in {classes}')
        unknown = sorted(set(self.class_map) - set(self.OBJECT_TYPES))
        if unknown:
            raise ValueError(f'{name}: class_map keys {unknown} are not '
                             f'types of this data set {self.OBJECT_TYPES}')
        outside = sorted(set(self.class_map.values()) - set(classes))
        if outside:
            raise ValueError(f'{name}: class_map maps to {outside}, which '
                             f'are not in classes {classes}')
        mapped = {t: self.class_map.get(t, t) for t in self.OBJECT_TYPES}
        unreachable = [c for c in classes if c not in mapped.values()]
        if unreachable:
            raise ValueError(
                f'{name}: classes {unreachable} match no type of this data '
                f'set {self.OBJECT_TYPES}; add them to class_map')
        return {
            t: classes.index(c) if c in classes else -1
            for t, c in mapped.items()
        }

    def _read_images_from_pack(self) -> None:
        """With ``packed_file``, replace the pipeline's mmcv
        ``LoadImageFromFile`` by ``LoadImageFromPackOrFile`` (same
        ``backend_args``), which reads the decoded images from the pack.

        Raises:
            ValueError: for a loader that decodes differently from the pack
                (a subclass, or other decoding options).
        """
        if not self.packed_file:
            return
        transforms = self.pipeline.transforms
        for index, step in enumerate(transforms):
            if not isinstance(step, LoadImageFromFile):
                continue
            options = {key: getattr(step, key) for key in _PACK_DECODING}
            if type(step) is not LoadImageFromFile or options != _PACK_DECODING:
                raise ValueError(
                    f'{self._name()}: packed_file={self.packed_file!r} holds '
                    f'images decoded as {_PACK_DECODING}; the pipeline\'s '
                    f'{step!r} cannot read it: load with LoadImageFromPackOrFile')
            transforms[index] = LoadImageFromPackOrFile(step.backend_args)
            print_log(
                f'{self._name()}: images from {self.packed_file} '
                '(LoadImageFromFile replaced by LoadImageFromPackOrFile)',
                logger='current')

    def _palette(self) -> List[tuple]:
        """The given palette when it fits the classes, else one colour per
        class (its own where known)."""
        classes = self.metainfo['classes']
        palette = self.metainfo.get('palette')
        if palette is not None and len(palette) == len(classes) and \
                palette != self.METAINFO.get('palette'):
            return list(palette)
        return [
            self.PALETTE_BY_NAME.get(
                c, _FALLBACK_PALETTE[i % len(_FALLBACK_PALETTE)])
            for i, c in enumerate(classes)
        ]

    # Filtering, sampling and loading at run time.
    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg`` outside test mode (see the class doc)."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        unknown = sorted(set(self.filter_cfg) - set(_FILTER_KEYS))
        if unknown:
            raise ValueError(f'{self._name()}: unknown filter_cfg keys '
                             f'{unknown}; known: {_FILTER_KEYS}')
        filter_empty = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept = [
            info for info in self.data_list
            if min(info['width'], info['height']) >= min_size and (
                not filter_empty or any(inst['ignore_flag'] == 0
                                        for inst in info['instances']))
        ]
        if len(kept) < len(self.data_list):
            print_log(
                f'{self._name()}: filter_cfg {self.filter_cfg} left out '
                f'{len(self.data_list) - len(kept)} of '
                f'{len(self.data_list)} images',
                logger='current')
        return kept

    def get_cat_ids(self, idx: int) -> List[int]:
        """Class indices of the non-ignored instances of image ``idx``."""
        return [
            inst['bbox_label'] for inst in self.get_data_info(idx)['instances']
            if inst['ignore_flag'] == 0
        ]

    def prepare_data(self, idx: int) -> Any:
        """The pipeline's output for sample ``idx``; with
        ``on_bad_sample='skip'`` outside test mode, None for a sample whose
        image fails to load (mmengine then draws another one)."""
        try:
            return super().prepare_data(idx)
        except BadSampleError as err:
            if self.on_bad_sample == 'error' or self.test_mode:
                raise
            self.load_time_skips += 1
            self._warn(f'skipping a bad sample at load time: {err} '
                       f'({self.load_time_skips} in this process so far)')
            return None

    def _name(self) -> str:
        return f'{type(self).__name__}({self.selection()})'

    @staticmethod
    def _warn(message: str) -> None:
        print_log(message, logger='current', level=logging.WARNING)


def has_positive_area(box: Sequence[float]) -> bool:
    """Whether the xyxy box has x2 > x1 and y2 > y1."""
    x1, y1, x2, y2 = box
    return x2 > x1 and y2 > y1


def fit_box_to_image(box: Sequence[float],
                     width: int,
                     height: int,
                     tolerance: float,
                     path: str,
                     line: Optional[int],
                     what: str = 'box') -> List[float]:
    """Clip an xyxy box (pixels) to the image; reject a box with zero or
    negative area, or reaching more than ``tolerance`` pixels out of the
    image, or lying wholly outside it.

    Args:
        what: how the message names the box, e.g.
            ``object #3 (label 'car'): box``.

    Raises:
        BadSampleError: naming ``path`` and ``line``.
    """
    x1, y1, x2, y2 = box
    shown = f'{what} [{x1:g}, {y1:g}, {x2:g}, {y2:g}]'
    if not has_positive_area(box):
        raise BadSampleError.at(path, f'{shown} has zero or negative '
                                'area', 'bad box', line)
    if (x1 < -tolerance or y1 < -tolerance or x2 > width + tolerance
            or y2 > height + tolerance or x1 >= width or y1 >= height
            or x2 <= 0 or y2 <= 0):
        raise BadSampleError.at(
            path, f'{shown} lies outside the image '
            f'({width}x{height})', 'bad box', line)
    return [
        min(max(x1, 0.0), float(width)),
        min(max(y1, 0.0), float(height)),
        min(max(x2, 0.0), float(width)),
        min(max(y2, 0.0), float(height))
    ]
