"""KITTI 2D object detection in its raw layout."""
import os
import os.path as osp
from typing import List, Optional

from yolo_plugin.registry import DATASETS
from .bad_samples import BadSampleError, read_text, shown
from .base_driving_dataset import (BaseDrivingDataset, fit_box_to_image,
                                   has_positive_area)
from .kitti_format import DONT_CARE, KITTI_CLASSES, KittiLine, iter_kitti_lines

#: How far (pixels) a box may reach out of the image before it is an error;
#: within it the box is clipped.
BOX_TOLERANCE = 1.0


@DATASETS.register_module()
class KittiDataset(BaseDrivingDataset):
    """KITTI object detection read from the folders as downloaded::

        data_root/
          training/image_2/000000.png ...   training/label_2/000000.txt ...
          testing/image_2/000000.png ...    (no labels)
          ImageSets/train.txt val.txt trainval.txt test.txt  (frame ids)

    Each label line holds 15 space-separated fields (type, truncated,
    occluded, alpha, box left top right bottom in pixels, 3D dimensions
    h w l, location x y z, rotation_y), optionally a 16th, score.
    ``DontCare`` boxes and types outside the classes become ignored
    instances (``bbox_label=-1``, ``ignore_flag=1``), kept for the metric;
    such a box with zero or negative area (right <= left or bottom <= top,
    as in DontCare lines of older KITTI releases) is dropped, counted in
    ``num_dropped_ignored_regions``. Every instance also keeps
    ``kitti_type``, ``truncated``, ``occluded`` and ``alpha``. An empty
    label file (no line, or blank lines only: what annotation tools write
    for a frame without objects) gives a frame without instances, counted
    in ``num_empty_frames``; a missing one is a bad sample, and so is an
    object of the classes with a box of zero or negative area.

    Args:
        split: name of a split file ``ImageSets/{split}.txt``, or None for
            every frame in the folder.
        folder: ``'training'`` or ``'testing'``; defaults to ``'testing'``
            for ``split='test'``, else ``'training'``.
        with_annotations: read ``label_2``; defaults to True for the
            training folder, False for the testing folder.
        **kwargs: see :class:`BaseDrivingDataset` (``class_map``,
            ``on_bad_sample``, ``packed_file``, ``data_root``, ``metainfo``,
            ``pipeline``, ...). Classes come from ``metainfo['classes']``:
            by default Car, Pedestrian, Cyclist; ``KITTI_CLASSES`` for all.
    """

    METAINFO = dict(
        classes=('Car', 'Pedestrian', 'Cyclist'),
        palette=[(0, 0, 142), (220, 20, 60), (119, 11, 32)])
    OBJECT_TYPES = KITTI_CLASSES
    PALETTE_BY_NAME = dict(
        Car=(0, 0, 142),
        Van=(0, 60, 100),
        Truck=(0, 0, 70),
        Pedestrian=(220, 20, 60),
        Person_sitting=(255, 0, 0),
        Cyclist=(119, 11, 32),
        Tram=(0, 80, 100),
        Misc=(165, 42, 42))

    def __init__(self,
                 *args,
                 split: Optional[str] = None,
                 folder: Optional[str] = None,
                 with_annotations: Optional[bool] = None,
                 **kwargs) -> None:
        self.split = split
        self.folder = folder or ('testing' if split == 'test' else 'training')
        if self.folder not in ('training', 'testing'):
            raise ValueError("folder must be 'training' or 'testing', got "
                             f'{self.folder!r}')
        if with_annotations is None:
            with_annotations = self.folder == 'training'
        super().__init__(*args, with_annotations=with_annotations, **kwargs)

    def selection(self) -> dict:
        return dict(split=self.split, folder=self.folder)

    def _dir(self, name: str) -> str:
        return osp.join(self.data_root, self.folder, name)

    def list_samples(self) -> List[str]:
        """Frame ids (e.g. ``'000007'``) of the split, or of the folder."""
        image_dir = self._dir('image_2')
        if not osp.isdir(image_dir):
            raise FileNotFoundError(
                f'{image_dir}: KITTI image folder not found; expected '
                f'data_root/{self.folder}/image_2/*.png')
        if self.split is not None:
            return self._read_split_file()
        stems = {f[:-4] for f in os.listdir(image_dir) if f.endswith('.png')}
        if self.with_annotations and osp.isdir(self._dir('label_2')):
            stems |= {
                f[:-4]
                for f in os.listdir(self._dir('label_2')) if f.endswith('.txt')
            }
        return sorted(stems)

    def _read_split_file(self) -> List[str]:
        path = osp.join(self.data_root, 'ImageSets', f'{self.split}.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path}: split file not found (split={self.split!r}); '
                f'give split=None to use every frame of '
                f'{self.folder}/image_2')
        return read_frame_ids(path)

    def image_path(self, frame: str) -> str:
        return osp.join(self._dir('image_2'), f'{frame}.png')

    def image_id(self, frame: str, index: int) -> int:
        if not _is_frame_number(frame):
            raise BadSampleError.at(
                self.image_path(frame), 'file name is not a frame number',
                'bad file name')
        return int(frame)

    def parse_labels(self, frame: str, width: int,
                     height: int) -> List[Optional[dict]]:
        return self._parse_label_file(
            osp.join(self._dir('label_2'), f'{frame}.txt'), width, height)

    def _parse_label_file(self, path: str, width: int,
                          height: int) -> List[Optional[dict]]:
        """One instance (or None, see :meth:`_parse_label_line`) per
        non-blank line; none for an empty file."""
        if not osp.isfile(path):
            raise BadSampleError.at(path, 'label file not found',
                                    'missing label file')
        return [
            self._parse_label_line(line, path, width, height)
            for line in iter_kitti_lines(path, types=KITTI_CLASSES + (DONT_CARE, ))
        ]

    def _parse_label_line(self, line: KittiLine, path: str, width: int,
                          height: int) -> Optional[dict]:
        """One parsed label line -> one instance dict (see the class doc),
        or None for an ignored box of zero or negative area."""
        fields, values, line_no = line.fields, line.values, line.line_no
        kitti_type = fields[0]
        truncated, occluded = values['truncated'], values['occluded']
        if not occluded.is_integer():
            raise BadSampleError.at(
                path, f"field 'occluded' is not an integer: {fields[2]!r}",
                'bad label line', line_no)
        if kitti_type != DONT_CARE and not (0 <= truncated <= 1
                                            and occluded in (0, 1, 2, 3)):
            raise BadSampleError.at(
                path, f'truncated {fields[1]} must lie in [0, 1] and '
                f'occluded {fields[2]} in {{0, 1, 2, 3}}', 'bad label line',
                line_no)
        box = [values[k] for k in ('left', 'top', 'right', 'bottom')]
        label = self.label_of_type.get(kitti_type, -1)
        if label < 0 and not has_positive_area(box):
            return None
        bbox = fit_box_to_image(box, width, height, BOX_TOLERANCE, path,
                                line_no)
        return dict(
            bbox=bbox,
            bbox_label=label,
            ignore_flag=int(label < 0),
            kitti_type=kitti_type,
            truncated=truncated,
            occluded=int(occluded),
            alpha=values['alpha'])


def read_frame_ids(path: str) -> List[str]:
    """Frame ids (``'000007'``) of a KITTI split file, one a line, in order.

    Raises:
        ValueError: naming the file and line of an id that is not digits or
            is listed twice.
    """
    first_line = {}
    for line_no, line in enumerate(read_text(path).split('\n'), 1):
        frame = line.strip()
        if not frame:
            continue
        if not _is_frame_number(frame):
            raise ValueError(f'{path}:{line_no}: a frame id must be '
                             f'digits, got {shown(frame)}')
        if frame in first_line:
            raise ValueError(
                f'{path}:{line_no}: frame {frame} listed twice '
                f'(first at line {first_line[frame]})')
        first_line[frame] = line_no
    return list(first_line)


def _is_frame_number(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` alone takes e.g. superscripts,
    which ``int`` refuses)."""
    return text.isascii() and text.isdigit()
