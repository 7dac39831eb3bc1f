"""KITTI label lines written and read back: the dataset's, the metric's
and the synthetic data's one format."""
import pytest

from yolo_plugin.datasets import BadSampleError
from yolo_plugin.datasets.kitti_format import (KITTI_NUMERIC_FIELDS, RESULT_FIELDS,
                                               format_kitti_line, iter_kitti_lines,
                                               write_kitti_file)


def test_a_full_label_line_reads_back(tmp_path):
    line = format_kitti_line('Cyclist', (712.4, 143.0, 810.73, 307.92), truncated=0.12,
                             occluded=2, alpha=-0.2, dimensions=(1.89, 0.48, 1.2),
                             location=(1.84, 1.47, 8.41), rotation_y=0.01)
    assert line == ('Cyclist 0.12 2 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 '
                    '1.84 1.47 8.41 0.01')
    path = str(tmp_path / '000000.txt')
    write_kitti_file(path, [line])
    parsed, = iter_kitti_lines(path)
    assert (parsed.line_no, parsed.fields[0]) == (1, 'Cyclist')
    assert list(parsed.values) == list(KITTI_NUMERIC_FIELDS[:-1])
    assert parsed.values['occluded'] == 2 and parsed.values['bottom'] == 307.92


def test_a_result_line_has_unknown_3d_fields_and_the_score(tmp_path):
    line = format_kitti_line('Car', (1, 2, 3, 4), score=0.25)
    assert line == 'Car -1 -1 -10 1.00 2.00 3.00 4.00 -1 -1 -1 -1000 -1000 -1000 -10 0.250000'
    assert format_kitti_line('DontCare', (5, 6, 7, 8)) == (
        'DontCare -1 -1 -10 5.00 6.00 7.00 8.00 -1 -1 -1 -1000 -1000 -1000 -10')
    path = str(tmp_path / '000001.txt')
    write_kitti_file(path, [line])
    assert next(iter_kitti_lines(path, RESULT_FIELDS)).values['score'] == 0.25


def test_no_line_is_an_empty_file_and_bad_lines_name_file_and_line(tmp_path):
    path = str(tmp_path / '000002.txt')
    write_kitti_file(path, [])
    assert list(iter_kitti_lines(path)) == []
    write_kitti_file(path, ['', format_kitti_line('Car', (1, 2, 3, 4))])
    with pytest.raises(BadSampleError, match=f'^{path}:2: expected 16 fields, got 15: '):
        list(iter_kitti_lines(path, RESULT_FIELDS))
    with pytest.raises(BadSampleError, match=r"^.*:2: unknown KITTI type 'Car' \(known: "
                       r"\('Van',\)\)$"):
        list(iter_kitti_lines(path, types=('Van', )))
