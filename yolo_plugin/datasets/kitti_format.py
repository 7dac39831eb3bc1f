"""KITTI's object label format, read and written in one place: by
:class:`KittiDataset` (label files), the KITTI metric and
``tools/kitti_eval.py`` (label and result files) and the synthetic data.

A line holds 15 space-separated fields: type, truncated, occluded, alpha,
the box (left top right bottom, pixels), the 3D dimensions (h w l, metres),
the location (x y z, metres, camera coordinates) and rotation_y; result
files add a 16th, the score. A field a 2D detector does not know takes
KITTI's "unknown" value (truncated -1, occluded -1, alpha -10, dimensions
-1, location -1000, rotation_y -10).
"""
import math
import re
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence

from .bad_samples import BadSampleError, read_text, shown

#: The eight object classes of KITTI; ``DontCare`` marks unlabelled regions.
KITTI_CLASSES = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting',
                 'Cyclist', 'Tram', 'Misc')
DONT_CARE = 'DontCare'
#: Names of the fields of a label line after the type; ``score`` (16th
#: field) appears only in result files.
KITTI_NUMERIC_FIELDS = ('truncated', 'occluded', 'alpha', 'left', 'top',
                        'right', 'bottom', 'height', 'width', 'length', 'x',
                        'y', 'z', 'rotation_y', 'score')
#: A number of a label line: ASCII decimal, optional sign and exponent
#: (``float()`` alone would also take ``1_0``, ``inf`` or non-ASCII digits).
KITTI_NUMBER = re.compile(
    r'[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?')
LABEL_FIELDS = (15, 16)  # label files: a score may follow
RESULT_FIELDS = (16, )  # result files: the score is required


class KittiLine(NamedTuple):
    """One parsed line: its 1-based number in the file, its fields as
    written (``fields[0]`` is the type) and the numeric fields by name
    (``KITTI_NUMERIC_FIELDS``; ``score`` only with 16 fields)."""
    line_no: int
    fields: List[str]
    values: Dict[str, float]


def parse_kitti_line(line: str, path: str, line_no: int,
                     field_counts: Sequence[int] = LABEL_FIELDS,
                     types: Optional[Sequence[str]] = None) -> KittiLine:
    """Parse one line of ``path``, checking in this order the number of
    fields, the type (when ``types`` lists the allowed ones) and that every
    numeric field is a finite ASCII decimal number.

    Raises:
        BadSampleError: naming ``path``, ``line_no`` and the offending value.
    """
    fields = line.split()
    if len(fields) not in field_counts:
        expected = ('15 fields (16 with a score)' if tuple(field_counts) == LABEL_FIELDS
                    else ' or '.join(map(str, field_counts)) + ' fields')
        raise BadSampleError.at(
            path, f'expected {expected}, got {len(fields)}: '
            f'{shown(line.strip())}', 'bad label line', line_no)
    if types is not None and fields[0] not in types:
        raise BadSampleError.at(
            path, f'unknown KITTI type {shown(fields[0])} (known: '
            f'{tuple(types)})', 'unknown class', line_no)
    values = {}
    for name, text in zip(KITTI_NUMERIC_FIELDS, fields[1:]):
        value = float(text) if KITTI_NUMBER.fullmatch(text) else math.nan
        if not math.isfinite(value):
            raise BadSampleError.at(
                path, f'field {name!r} is not a finite number: '
                f'{shown(text)}', 'bad label line', line_no)
        values[name] = value
    return KittiLine(line_no, fields, values)


def iter_kitti_lines(path: str, field_counts: Sequence[int] = LABEL_FIELDS,
                     types: Optional[Sequence[str]] = None) -> Iterator[KittiLine]:
    """Every non-blank line of a label or result file (:func:`read_text`:
    UTF-8, lines end only at line ends), parsed by :func:`parse_kitti_line`
    one at a time, in order: a caller that checks each line further (the
    data set: box, truncation) stops at the first bad line of the file,
    whichever check it fails. None for an empty file.

    Raises:
        BadSampleError: for a bad line, or a file that is not UTF-8.
    """
    for line_no, line in enumerate(read_text(path).split('\n'), 1):
        if line.strip():
            yield parse_kitti_line(line, path, line_no, field_counts, types)


def format_kitti_line(kitti_type: str,
                      bbox: Sequence[float],
                      truncated: Optional[float] = None,
                      occluded: Optional[int] = None,
                      alpha: Optional[float] = None,
                      dimensions: Optional[Sequence[float]] = None,
                      location: Optional[Sequence[float]] = None,
                      rotation_y: Optional[float] = None,
                      score: Optional[float] = None) -> str:
    """One line (no line end): numbers with two decimals, the score with
    six; ``None`` gives KITTI's unknown value of the field (a result line
    of a 2D detector gives the type, box and score only).

    Args:
        bbox: (left, top, right, bottom), pixels.
        dimensions: (height, width, length), metres.
        location: (x, y, z), metres.
    """

    def numbers(values: Optional[Sequence[float]], unknown: str) -> str:
        return unknown if values is None else ' '.join(f'{v:.2f}' for v in values)

    fields = [
        kitti_type,
        numbers(None if truncated is None else [truncated], '-1'),
        '-1' if occluded is None else f'{occluded:d}',
        numbers(None if alpha is None else [alpha], '-10'),
        numbers(bbox, ''),
        numbers(dimensions, '-1 -1 -1'),
        numbers(location, '-1000 -1000 -1000'),
        numbers(None if rotation_y is None else [rotation_y], '-10'),
    ]
    if score is not None:
        fields.append(f'{score:.6f}')
    return ' '.join(fields)


def write_kitti_file(path: str, lines: Sequence[str]) -> None:
    """Write ``lines`` (from :func:`format_kitti_line`), each ending with a
    line end; no line gives an empty file (a frame without objects)."""
    with open(path, 'w') as f:
        f.writelines(line + '\n' for line in lines)
