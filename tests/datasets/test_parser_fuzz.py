"""Property-based tests (hypothesis) of the KITTI label and Cityscapes
polygon parsers.

Any file content gives its instances or a ``BadSampleError`` naming the
file (and the line); every valid label line or instance object becomes an
instance equal to the one built from the generated values, but an ignored
region of zero area, which is dropped and counted; a file without objects
gives a frame without instances; with ``on_bad_sample='skip'`` a file with
a bad line is left out whole, logged and counted, never half read.
"""
import json
import math
import os.path as osp
from typing import Callable, List, NamedTuple, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.datasets.conftest import write_png
from yolo_plugin.datasets import (BadSampleError, CityscapesGtFineDataset,
                                  KittiDataset)
from yolo_plugin.datasets.cityscapes import (CITYSCAPES_INSTANCE_LABELS,
                                             CITYSCAPES_LABELS)
from yolo_plugin.datasets.kitti_format import KITTI_CLASSES

WIDTH, HEIGHT = 200, 100  # pixels, every image below
NUM_FRAMES = 3  # frames of the skip tests
BOM = '\ufeff'
KITTI_TYPES = KITTI_CLASSES + ('DontCare', )
KITTI_LABELS = {'Car': 0, 'Pedestrian': 1, 'Cyclist': 2}  # default classes
KITTI_IGNORED_TYPES = tuple(t for t in KITTI_TYPES if t not in KITTI_LABELS)
CITYSCAPES_CLASSES = CityscapesGtFineDataset.METAINFO['classes']
STUFF_LABELS = tuple(
    label for label in CITYSCAPES_LABELS
    if label not in CITYSCAPES_INSTANCE_LABELS)
FEW = settings(max_examples=25, deadline=None)
MANY = settings(max_examples=100, deadline=None)


class RecordsWarnings:
    """Keeps the warnings a dataset logs, in ``logged``."""

    def __init__(self, **kwargs) -> None:
        self.logged: List[str] = []
        super().__init__(**kwargs)

    def _warn(self, message: str) -> None:
        self.logged.append(message)


class RecordingKitti(RecordsWarnings, KittiDataset):
    pass


class RecordingCityscapes(RecordsWarnings, CityscapesGtFineDataset):
    pass


class LabelFile(NamedTuple):
    """A generated label file and what parsing it must give."""
    text: str
    instances: List[dict]  # expected, when the file is valid
    dropped: int  # ignored regions of zero area, expected dropped
    bad: Optional[int]  # KITTI: 1-based line, Cityscapes: object index
    file_error: bool  # the file as a whole is bad (e.g. malformed json)

    @property
    def valid(self) -> bool:
        return self.bad is None and not self.file_error


# Trees: images only; every example writes its own label files.
@pytest.fixture(scope='module')
def kitti_tree(tmp_path_factory) -> str:
    """Frames 000000..000002; split 'one' lists the first, 'all' all."""
    root = tmp_path_factory.mktemp('fuzz') / 'kitti'
    frames = [f'{i:06d}' for i in range(NUM_FRAMES)]
    for frame in frames:
        write_png(str(root / 'training/image_2' / f'{frame}.png'), WIDTH,
                  HEIGHT)
    (root / 'training/label_2').mkdir()
    (root / 'ImageSets').mkdir()
    (root / 'ImageSets/one.txt').write_text(frames[0] + '\n')
    (root / 'ImageSets/all.txt').write_text('\n'.join(frames) + '\n')
    return str(root)


@pytest.fixture(scope='module')
def cityscapes_tree(tmp_path_factory) -> str:
    """Split 'one' with one image, split 'all' with three."""
    root = tmp_path_factory.mktemp('fuzz') / 'cityscapes'
    for split, count in (('one', 1), ('all', NUM_FRAMES)):
        for stem in map(_cityscapes_stem, range(count)):
            write_png(
                str(root / 'leftImg8bit' / split / 'fuzz' /
                    f'{stem}_leftImg8bit.png'), WIDTH, HEIGHT)
            (root / 'gtFine' / split / 'fuzz').mkdir(
                parents=True, exist_ok=True)
    return str(root)


def _cityscapes_stem(index: int) -> str:
    return f'fuzz_000000_{index:06d}'


def _write(path: str, data) -> None:
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode('utf-8'))


def assert_instances(actual: List[dict], expected: List[dict]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        assert got.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, str):
                assert got[key] == value, key
            else:
                assert got[key] == pytest.approx(value, abs=1e-9), key


def assert_sane(instances: List[dict], num_classes: int) -> None:
    """What any parsed instance must satisfy: a box of positive area inside
    the image, a label in [-1, K), ignored where the label is -1."""
    for inst in instances:
        x1, y1, x2, y2 = inst['bbox']
        assert 0 <= x1 < x2 <= WIDTH and 0 <= y1 < y2 <= HEIGHT
        assert -1 <= inst['bbox_label'] < num_classes
        if inst['bbox_label'] < 0:
            assert inst['ignore_flag'] == 1


def nonblank_lines(data: bytes) -> int:
    """Lines with any non-whitespace character (line ends ``\\n``,
    ``\\r\\n`` or ``\\r``)."""
    text = data.decode('utf-8').removeprefix(BOM)
    lines = text.replace('\r\n', '\n').replace('\r', '\n').split('\n')
    return sum(1 for line in lines if line.strip())


def damaged(data: bytes, changes) -> bytes:
    """``data`` with byte strings inserted or overwritten at positions."""
    for position, chunk, overwrite in changes:
        position %= len(data) + 1
        end = position + len(chunk) if overwrite else position
        data = data[:position] + chunk + data[end:]
    return data


edits = st.lists(
    st.tuples(
        st.integers(0, 10**6), st.binary(min_size=1, max_size=4),
        st.booleans()),
    min_size=1,
    max_size=4)
# Tokens without whitespace (str.split would cut them), any Unicode.
token = st.text(
    st.characters(exclude_categories=('Cs', )).filter(
        lambda c: not c.isspace()),
    min_size=1,
    max_size=10)

# KITTI.
NUMBER_FORMATS = ('{:.2f}', '{:.4f}', '{:+.2f}', '{:.6e}', '{:08.2f}')
NOT_NUMBERS = ('nan', 'NaN', '-nan', 'inf', '-inf', 'Infinity', '1e999',
               '-1e400', '1_0', '\u0661\u0662', '\u00b2', '0x1A', '1,5', '.',
               'e5', '1e', '--1', '+', '1.2.3', 'None', 'null')
CAR_LINE = ('Car 0.00 0 1.85 10.0 20.0 50.0 60.0 1.67 1.87 3.69 -16.53 2.39 '
            '58.49 1.57')
NOT_TYPES = ('car', 'CAR', 'Bus', 'Dontcare', 'Car\x00', '\uff23ar')
# Characters a number's text is made of; a token with another is no number.
NUMBER_CHARS = set('0123456789.eE+-')


def _hundredths(draw, low: int, high: int):
    """(value, text) of a number of ``low``..``high`` hundredths."""
    count = draw(st.integers(low, high))
    return count / 100, draw(st.sampled_from(NUMBER_FORMATS)).format(
        count / 100)


@st.composite
def kitti_lines(draw, types=KITTI_TYPES):
    """A valid label line of one of ``types``: (fields, expected instance,
    box in hundredths of a pixel as drawn)."""
    kitti_type = draw(st.sampled_from(types))
    if kitti_type == 'DontCare':
        truncated = _hundredths(draw, -100, 100)
        occluded = draw(st.integers(-1, 3))
    else:
        truncated = _hundredths(draw, 0, 100)
        occluded = draw(st.integers(0, 3))
    occluded_text = draw(st.sampled_from(('{}', '{}.0', '{:+d}'))).format(
        occluded)
    alpha = _hundredths(draw, -1000, 1000)
    # Up to 1 px out of the image (clipped), positive area, not outside.
    x1 = draw(st.integers(-100, WIDTH * 100 - 1))
    x2 = draw(st.integers(max(x1 + 1, 1), (WIDTH + 1) * 100))
    y1 = draw(st.integers(-100, HEIGHT * 100 - 1))
    y2 = draw(st.integers(max(y1 + 1, 1), (HEIGHT + 1) * 100))
    box_texts = [
        draw(st.sampled_from(NUMBER_FORMATS)).format(v / 100)
        for v in (x1, y1, x2, y2)
    ]
    shape = [
        _hundredths(draw, -100000, 100000)[1]
        for _ in range(7 + draw(st.integers(0, 1)))  # 3D fields, score
    ]
    fields = [kitti_type, truncated[1], occluded_text, alpha[1]
              ] + box_texts + shape
    label = KITTI_LABELS.get(kitti_type, -1)
    instance = dict(
        bbox=[
            max(x1 / 100, 0.0),
            max(y1 / 100, 0.0),
            min(x2 / 100, WIDTH),
            min(y2 / 100, HEIGHT)
        ],
        bbox_label=label,
        ignore_flag=int(label < 0),
        kitti_type=kitti_type,
        truncated=truncated[0],
        occluded=occluded,
        alpha=alpha[0])
    return fields, instance, (x1, y1, x2, y2)


def _outside(draw, low: int, size: int):
    """(low, high) hundredths of a box side beyond the 1 px tolerance or
    wholly out of [0, size)."""
    extra = draw(st.integers(0, 10**7))
    span = draw(st.integers(1, 10**4))
    return draw(
        st.sampled_from([
            (-101 - extra, low + span),  # starts too far left / up
            (low, (size + 1) * 100 + 1 + extra),  # ends too far
            (size * 100 + extra, size * 100 + extra + span),  # after
            (-extra - span, -extra),  # before
        ]))


def _flatten(draw, fields: List[str], box) -> None:
    """Make the box of a label line's fields have right <= left or
    bottom <= top."""
    axis = draw(st.integers(0, 1))  # 0: x, 1: y
    low = box[axis]
    fields[6 + axis] = f'{(low - draw(st.integers(0, 5000))) / 100:.2f}'


@st.composite
def flat_ignored_kitti_lines(draw):
    """The fields of an ignored line (DontCare, a type outside the
    classes) with a box of zero or negative area: dropped."""
    fields, _, box = draw(kitti_lines(KITTI_IGNORED_TYPES))
    _flatten(draw, fields, box)
    return fields


@st.composite
def bad_kitti_lines(draw):
    """The fields of a label line that must be refused."""
    fault = draw(
        st.sampled_from([
            'count', 'number', 'type', 'flat box', 'outside', 'occluded',
            'range'
        ]))
    # A flat box is refused for an object of the classes only.
    fields, _, box = draw(
        kitti_lines(tuple(KITTI_LABELS) if fault == 'flat box' else
                    KITTI_TYPES))
    axis = draw(st.integers(0, 1))  # 0: x, 1: y
    if fault == 'count':
        count = draw(st.one_of(st.integers(1, 14), st.integers(17, 30)))
        fields = (fields + ['0'] * 30)[:count]
    elif fault == 'number':
        fields[draw(st.integers(1, len(fields) - 1))] = draw(
            st.sampled_from(NOT_NUMBERS)
            | token.filter(lambda t: not set(t) <= NUMBER_CHARS))
    elif fault == 'type':
        fields[0] = draw(
            st.sampled_from(NOT_TYPES)
            | token.filter(lambda t: t not in KITTI_TYPES))
    elif fault == 'flat box':
        _flatten(draw, fields, box)
    elif fault == 'outside':
        low, high = _outside(draw, box[axis], (WIDTH, HEIGHT)[axis])
        fields[4 + axis] = f'{low / 100:.2f}'
        fields[6 + axis] = f'{high / 100:.2f}'
    elif fault == 'occluded':  # not an integer, whatever the type
        fields[2] = f'{draw(st.integers(-1, 3))}.5'
    else:  # truncated or occluded out of range for an object type
        fields[0] = draw(st.sampled_from(KITTI_CLASSES))
        if draw(st.booleans()):
            hundredths = draw(
                st.integers(101, 10**4) | st.integers(-10**4, -1))
            fields[1] = f'{hundredths / 100:.2f}'
        else:
            fields[2] = str(draw(st.integers(4, 9) | st.integers(-3, -1)))
    return fields


separators = st.sampled_from([' ', '  ', '\t', ' \t'])
blank_lines = st.sampled_from(['', ' ', '\t', '  \t '])


@st.composite
def kitti_files(draw):
    """A label file of valid, dropped, bad and blank lines, with any line
    end; possibly empty."""
    lines, instances, dropped, bad = [], [], 0, None
    kinds = st.sampled_from(['valid'] * 3 + ['dropped', 'bad', 'blank'])
    for kind in draw(st.lists(kinds, max_size=8)):
        if kind == 'blank':
            lines.append(draw(blank_lines))
            continue
        if kind == 'valid':
            fields, instance, _ = draw(kitti_lines())
            instances.append(instance)
        elif kind == 'dropped':
            fields = draw(flat_ignored_kitti_lines())
            dropped += 1
        else:
            fields = draw(bad_kitti_lines())
            bad = bad or len(lines) + 1
        seps = [draw(separators) for _ in fields[1:]]
        body = fields[0] + ''.join(s + f for s, f in zip(seps, fields[1:]))
        lines.append(draw(blank_lines) + body + draw(blank_lines))
    newline = draw(st.sampled_from(['\n', '\r\n', '\r']))
    text = newline.join(lines) + draw(st.sampled_from(['', newline]))
    return LabelFile(
        draw(st.sampled_from(['', BOM])) + text, instances, dropped, bad,
        False)


# Cityscapes.
ABSENT = object()  # no 'deleted' key
coordinate_x = st.integers(-50, WIDTH + 50) | st.floats(-50, WIDTH + 50)
coordinate_y = st.integers(-50, HEIGHT + 50) | st.floats(-50, HEIGHT + 50)


def _reaches_image(points) -> bool:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs) < WIDTH and min(ys) < HEIGHT and max(xs) + 1 > 0
            and max(ys) + 1 > 0)


def _shoelace_area(points) -> float:
    """The unsigned shoelace area of the closed polygon (square pixels)."""
    rolled = points[1:] + points[:1]
    return abs(
        sum(x0 * y1 - x1 * y0
            for (x0, y0), (x1, y1) in zip(points, rolled))) / 2


# Valid polygons enclose area (at least 1 px^2, far from a flat one).
polygons = st.lists(
    st.tuples(coordinate_x, coordinate_y).map(list), min_size=3,
    max_size=8).filter(_reaches_image).filter(
        lambda points: _shoelace_area(points) >= 1)


@st.composite
def flat_polygons(draw):
    """At least 3 integer points on one line (or all equal)."""
    x0, y0 = draw(st.integers(-50, WIDTH + 50)), draw(
        st.integers(-50, HEIGHT + 50))
    dx, dy = draw(st.integers(-5, 5)), draw(st.integers(-5, 5))
    steps = draw(st.lists(st.integers(-20, 20), min_size=3, max_size=6))
    return [[x0 + k * dx, y0 + k * dy] for k in steps]


json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12)


@st.composite
def cityscapes_objects(draw,
                       kinds=('instance', 'group', 'stuff'),
                       deletable: bool = True):
    """A valid object: (json object, expected instance or None)."""
    kind = draw(st.sampled_from(kinds))
    base = draw(
        st.sampled_from(STUFF_LABELS if kind ==
                        'stuff' else CITYSCAPES_INSTANCE_LABELS))
    label = base + 'group' if kind == 'group' else base
    polygon = draw(polygons)
    obj = dict(label=label, polygon=polygon)
    deleted = draw(
        st.sampled_from([ABSENT, 0, False] +
                        ([1, True] if deletable else [])))
    if deleted is not ABSENT:
        obj['deleted'] = deleted
    obj.update(
        draw(
            st.dictionaries(
                st.sampled_from(['id', 'user', 'date', 'verified']),
                json_scalars,
                max_size=2)))
    if kind == 'stuff' or deleted in (1, True):
        return obj, None
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    class_index = CITYSCAPES_CLASSES.index(
        base) if base in CITYSCAPES_CLASSES else -1
    return obj, dict(
        bbox=[
            max(min(xs), 0),
            max(min(ys), 0),
            min(max(xs) + 1, WIDTH),
            min(max(ys) + 1, HEIGHT)
        ],
        bbox_label=class_index,
        ignore_flag=int(kind == 'group' or class_index < 0),
        cityscapes_label=label)


@st.composite
def flat_ignored_objects(draw):
    """An object of a crowd label or an instance label outside the
    classes whose polygon encloses no area: dropped."""
    ignored_labels = [
        label for label in CITYSCAPES_INSTANCE_LABELS
        if label not in CITYSCAPES_CLASSES
    ] + [label + 'group' for label in CITYSCAPES_INSTANCE_LABELS]
    return dict(
        label=draw(st.sampled_from(ignored_labels)),
        polygon=draw(flat_polygons()))


def _is_known_label(text) -> bool:
    return text in CITYSCAPES_LABELS or (text.endswith('group') and
                                         text[:-5] in CITYSCAPES_LABELS)


BAD_COORDINATES = ('1', None, True, math.nan, math.inf, -math.inf, 10**400,
                   [1], {})


@st.composite
def bad_polygons(draw):
    polygon = draw(polygons)
    fault = draw(st.sampled_from(['short', 'point', 'coordinate', 'type']))
    if fault == 'short':
        return polygon[:draw(st.integers(0, 2))]
    index = draw(st.integers(0, len(polygon) - 1))
    if fault == 'point':  # not two coordinates
        polygon[index] = polygon[index][:1] + [0] * draw(st.sampled_from(
            [0, 2]))
    elif fault == 'coordinate':
        polygon[index][draw(st.integers(0, 1))] = draw(
            st.sampled_from(BAD_COORDINATES))
    else:
        return draw(st.sampled_from([None, 'polygon', 5, {}, {'x': 1}]))
    return polygon


@st.composite
def bad_cityscapes_objects(draw):
    """A json object that must be refused."""
    # Not stuff, not deleted: their polygons are never read.
    obj, _ = draw(
        cityscapes_objects(kinds=('instance', 'group'), deletable=False))
    fault = draw(
        st.sampled_from([
            'polygon', 'flat polygon', 'no polygon', 'label', 'outside',
            'deleted', 'object'
        ]))
    if fault == 'polygon':
        obj['polygon'] = draw(bad_polygons())
    elif fault == 'flat polygon':  # refused for an object of the classes
        obj['label'] = draw(st.sampled_from(CITYSCAPES_CLASSES))
        obj['polygon'] = draw(flat_polygons())
    elif fault == 'no polygon':
        del obj['polygon']
    elif fault == 'label':
        obj['label'] = draw(
            st.sampled_from([None, 5, ['car'], {}])
            | st.text(max_size=12).filter(lambda t: not _is_known_label(t)))
    elif fault == 'outside':
        size = draw(st.sampled_from([WIDTH, HEIGHT]))
        start = draw(st.sampled_from([size, -size - 60]))  # after, before
        axis = int(size == HEIGHT)
        for point in obj['polygon']:
            point[axis] = start + draw(st.integers(0, 59))
    elif fault == 'deleted':
        obj['deleted'] = draw(
            st.sampled_from(['yes', '1', 2, -1, 0.5, None, [0], {}]))
    else:
        return draw(st.sampled_from([None, 'car', 5, [], ['car']]))
    return obj


FILE_FAULTS = ('size', 'no key', 'objects', 'not an object', 'truncated')


@st.composite
def cityscapes_files(draw):
    """A polygon file with valid, dropped and bad objects (possibly none),
    or bad as a whole."""
    objects, instances, dropped, bad = [], [], 0, None
    kinds = st.sampled_from(['valid'] * 3 + ['dropped', 'bad'])
    for kind in draw(st.lists(kinds, max_size=6)):
        if kind == 'valid':
            obj, instance = draw(cityscapes_objects())
            if instance is not None:
                instances.append(instance)
        elif kind == 'dropped':
            obj = draw(flat_ignored_objects())
            dropped += 1
        else:
            obj = draw(bad_cityscapes_objects())
            bad = len(objects) if bad is None else bad
        objects.append(obj)
    ann = dict(imgHeight=HEIGHT, imgWidth=WIDTH, objects=objects)
    fault = draw(st.sampled_from((None, ) * 12 + FILE_FAULTS))
    if fault == 'size':
        ann['imgWidth'] = draw(st.integers(1, 5000).filter(
            lambda w: w != WIDTH))
    elif fault == 'no key':
        del ann[draw(st.sampled_from(sorted(ann)))]
    elif fault == 'objects':
        ann['objects'] = draw(json_scalars | st.dictionaries(
            st.text(max_size=4), json_scalars, max_size=2))
    elif fault == 'not an object':
        ann = draw(json_scalars | st.lists(json_scalars, max_size=3))
    text = json.dumps(
        ann,
        indent=draw(st.sampled_from([None, 1])),
        ensure_ascii=draw(st.booleans()))
    if fault == 'truncated':
        text = text[:draw(st.integers(0, len(text) - 1))]
    return LabelFile(
        draw(st.sampled_from(['', BOM])) + text, instances, dropped, bad,
        fault is not None)


random_objects = st.fixed_dictionaries(
    {
        'label':
        st.sampled_from(CITYSCAPES_LABELS + ('cargroup', 'persongroup'))
        | json_values,
        'polygon':
        st.lists(st.lists(json_scalars, max_size=3), max_size=4)
        | polygons | json_values
    },
    optional={'deleted': json_scalars}) | json_values


# What each data set's tests need.
class Layout(NamedTuple):
    name: str
    files: st.SearchStrategy  # of LabelFile
    dataset: type  # a RecordsWarnings data set
    label_path: Callable[[str, str, int], str]  # (root, split, index)
    check_error: Callable[[BadSampleError, str, LabelFile], None]
    # instances and dropped regions of a parsed file
    expected_count: Callable[[bytes], int]
    num_classes: int


def _kitti_label_path(root: str, split: str, index: int) -> str:
    return osp.join(root, 'training/label_2', f'{index:06d}.txt')


def _check_kitti_error(err: BadSampleError, path: str,
                       label: LabelFile) -> None:
    """The error names the file and its first bad line."""
    assert (err.path, err.line) == (path, label.bad)
    assert str(err).startswith(f'{path}:{label.bad}: ')


def _cityscapes_json_path(root: str, split: str, index: int) -> str:
    return osp.join(root, 'gtFine', split, 'fuzz',
                    _cityscapes_stem(index) + '_gtFine_polygons.json')


def _check_cityscapes_error(err: BadSampleError, path: str,
                            label: LabelFile) -> None:
    """The error names the file and, for a bad object, its number."""
    assert err.path == path and str(err).startswith(path + ':')
    if not label.file_error:
        assert f': object #{label.bad} (' in str(err)


def _cityscapes_count(data: bytes) -> int:
    """Objects with an instance label (or its group), not deleted."""
    ann = json.loads(data.decode('utf-8').removeprefix(BOM))
    count = 0
    for obj in ann['objects']:
        label = obj['label']
        base = label[:-5] if (label not in CITYSCAPES_LABELS
                              and label.endswith('group')) else label
        count += base in CITYSCAPES_INSTANCE_LABELS and not obj.get(
            'deleted', False)
    return count


KITTI = Layout('kitti', kitti_files(), RecordingKitti, _kitti_label_path,
               _check_kitti_error, nonblank_lines, len(KITTI_LABELS))
CITYSCAPES = Layout('cityscapes', cityscapes_files(), RecordingCityscapes,
                    _cityscapes_json_path, _check_cityscapes_error,
                    _cityscapes_count, len(CITYSCAPES_CLASSES))


def _build(layout: Layout, root: str, split: str, **kwargs):
    return layout.dataset(
        data_root=root, split=split, serialize_data=False, **kwargs)


def check_label_file(layout: Layout, root: str, label: LabelFile) -> None:
    """A valid file gives exactly the expected instances, drops and counts
    the expected regions, and counts a frame without instances; any other
    raises, naming the file and the first bad place."""
    path = layout.label_path(root, 'one', 0)
    _write(path, label.text)
    if label.valid:
        dataset = _build(layout, root, 'one')
        assert_instances(dataset.get_data_info(0)['instances'],
                         label.instances)
        assert dataset.num_dropped_ignored_regions == label.dropped
        assert dataset.num_empty_frames == int(not label.instances)
        return
    with pytest.raises(BadSampleError) as info:
        _build(layout, root, 'one')
    layout.check_error(info.value, path, label)


def check_skipping(layout: Layout, root: str,
                   labels: List[LabelFile]) -> None:
    """With ``on_bad_sample='skip'``: valid files kept in order with their
    instances; every other one left out whole, logged and counted, its
    error naming its file and first bad place; the regions dropped from
    the kept files counted and logged."""
    paths = [layout.label_path(root, 'all', i) for i in range(NUM_FRAMES)]
    for path, label in zip(paths, labels):
        _write(path, label.text)
    dataset = _build(layout, root, 'all', on_bad_sample='skip')
    kept = [i for i, label in enumerate(labels) if label.valid]
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [info['img_path'] for info in infos] == [
        dataset.image_path(dataset.list_samples()[i]) for i in kept
    ]
    for info, i in zip(infos, kept):
        assert_instances(info['instances'], labels[i].instances)
    skipped = [i for i in range(NUM_FRAMES) if i not in kept]
    errors = dataset.skipped_samples
    assert len(errors) == len(skipped)
    for err, i in zip(errors, skipped):
        layout.check_error(err, paths[i], labels[i])
    dropped = sum(labels[i].dropped for i in kept)
    assert dataset.num_dropped_ignored_regions == dropped
    logged = list(dataset.logged)
    if dropped:
        assert logged.pop().endswith(
            f': dropped {dropped} degenerate ignored regions (zero or '
            'negative area)')
    if errors:
        assert f'skipped {len(errors)} of {NUM_FRAMES} samples' in \
            logged.pop()
    assert logged == [f'skipping a bad sample: {err}' for err in errors]


def check_any_bytes(layout: Layout, root: str, data: bytes) -> None:
    """Sane instances, as many as the content holds less the dropped
    regions, or an error naming the file."""
    path = layout.label_path(root, 'one', 0)
    _write(path, data)
    try:
        dataset = _build(layout, root, 'one')
    except BadSampleError as err:
        assert err.path == path and str(err).startswith(path)
        return
    instances = dataset.get_data_info(0)['instances']
    assert len(instances) + dataset.num_dropped_ignored_regions == \
        layout.expected_count(data)
    assert_sane(instances, layout.num_classes)


LAYOUTS = pytest.mark.parametrize(
    'layout', [KITTI, CITYSCAPES], ids=lambda layout: layout.name)


@pytest.fixture(scope='module')
def trees(kitti_tree, cityscapes_tree) -> dict:
    return dict(kitti=kitti_tree, cityscapes=cityscapes_tree)


@LAYOUTS
@MANY
@given(data=st.data())
def test_label_file(layout, trees, data):
    check_label_file(layout, trees[layout.name], data.draw(layout.files))


@LAYOUTS
@FEW
@given(data=st.data())
def test_skip_leaves_out_and_counts_bad_files(layout, trees, data):
    # A Cityscapes file of stuff objects only is valid: kept, without
    # instances.
    labels = data.draw(
        st.lists(layout.files, min_size=NUM_FRAMES, max_size=NUM_FRAMES))
    check_skipping(layout, trees[layout.name], labels)


@LAYOUTS
@MANY
@given(data=st.data(), changes=edits)
def test_damaged_file(layout, trees, data, changes):
    text = data.draw(layout.files).text
    check_any_bytes(layout, trees[layout.name],
                    damaged(text.encode('utf-8'), changes))


@LAYOUTS
@MANY
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(
    lambda t: t.encode('utf-8')))
def test_any_bytes(layout, trees, data):
    check_any_bytes(layout, trees[layout.name], data)


@MANY
@given(
    ann=json_values
    | st.fixed_dictionaries({
        'imgHeight': st.just(HEIGHT),
        'imgWidth': st.just(WIDTH),
        'objects': st.lists(random_objects, max_size=5)
    }))
def test_cityscapes_any_json(cityscapes_tree, ann):
    check_any_bytes(CITYSCAPES, cityscapes_tree, json.dumps(ann).encode())


def test_cityscapes_deeply_nested_json_is_a_bad_sample(cityscapes_tree):
    path = _cityscapes_json_path(cityscapes_tree, 'one', 0)
    _write(path, '[' * 100000)
    with pytest.raises(BadSampleError, match='nested too deeply'):
        _build(CITYSCAPES, cityscapes_tree, 'one')



def test_kitti_bad_bytes_name_their_line(kitti_tree):
    path = _kitti_label_path(kitti_tree, 'one', 0)
    _write(path, (CAR_LINE + '\r\n' + CAR_LINE).encode() + b'\xff\n')
    with pytest.raises(BadSampleError) as info:
        _build(KITTI, kitti_tree, 'one')
    assert str(info.value).startswith(
        f'{path}:2: not UTF-8 text: byte 0xff at offset ')


def test_kitti_lines_end_only_at_line_ends(kitti_tree):
    # Form feeds and Unicode line separators split fields, not lines (an
    # editor shows them inside the line): line numbers stay the editor's.
    path = _kitti_label_path(kitti_tree, 'one', 0)
    _write(path, CAR_LINE.replace(' ', '\x0c', 1) + '\n' +
           CAR_LINE + '\u2028' + CAR_LINE + '\n')
    with pytest.raises(BadSampleError) as info:
        _build(KITTI, kitti_tree, 'one')
    assert str(info.value).startswith(f'{path}:2: expected 15 fields (16 '
                                      'with a score), got 30')
