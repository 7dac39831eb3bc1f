"""Edges of the standalone runner found by mutation testing (docs/testing.md):
preprocessing other than the demo config's (interpolations, no keep_ratio,
a pad value, scales that are not multiples of 32, a portrait scale), the
session settings, clipping to the image, the refusals and the script."""
import json
import math
import re

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import Pad, Resize
from onnx import TensorProto, helper, save

from yolo_plugin.deploy import onnx_runner
from yolo_plugin.deploy.onnx_runner import (METADATA_KEY, Detections, ONNXDetector, Preprocess,
                                            letterbox, pad_to_input, read_image, resized_size)
from .test_onnx_runner import write_images


def padded_to(scale, stride=32):
    """``(H, W)`` of an export's default input for the Resize ``scale`` ``(w, h)``."""
    return (math.ceil(scale[1] / stride) * stride, math.ceil(scale[0] / stride) * stride)


def mmdet_resized_size(width, height, scale, keep_ratio=True):
    """``(w, h)`` mmdet's ``Resize`` gives a ``width`` x ``height`` image."""
    result = Resize(scale=scale, keep_ratio=keep_ratio)(
        dict(img=np.zeros((height, width, 3), np.uint8)))
    return result['img_shape'][::-1]


def test_preprocess_json_round_trip():
    preprocess = Preprocess(input_size=(384, 1248), resize_scale=(1242, 375), keep_ratio=False,
                            interpolation='area', pad_value=114.0)
    assert Preprocess.from_json(preprocess.to_json(), (384, 1248)) == preprocess


@pytest.mark.parametrize('interpolation', ['nearest', 'bicubic', 'area', 'lanczos'])
@pytest.mark.parametrize('keep_ratio', [True, False])
def test_letterbox_equals_mmdet_transforms(tmp_path, interpolation, keep_ratio):
    """Other interpolations, ``keep_ratio=False`` and a pad value: the
    pixels and scale factors of mmcv's LoadImageFromFile, mmdet's Resize
    and Pad to the input size."""
    scale, input_size, pad_value = (416, 128), (160, 448), 114
    preprocess = Preprocess(input_size=input_size, resize_scale=scale, keep_ratio=keep_ratio,
                            interpolation=interpolation, pad_value=pad_value)
    steps = [LoadImageFromFile(),
             Resize(scale=scale, keep_ratio=keep_ratio, interpolation=interpolation),
             Pad(size=input_size[::-1], pad_val=dict(img=pad_value))]
    for path in write_images(tmp_path, [(621, 188), (300, 200), (1242, 375)]):
        expected = dict(img_path=path)
        for step in steps:
            expected = step(expected)
        boxed = letterbox(read_image(path), preprocess)
        assert boxed.image.dtype == np.uint8
        np.testing.assert_array_equal(boxed.image, expected['img'])
        assert boxed.scale_factor == pytest.approx(expected['scale_factor'], abs=0)


@pytest.mark.parametrize('scale, image_size', [
    ((1242, 375), (2484, 700)),  # the width ratio binds: 1242 x 350, not the height's 1331 x 375
    ((1242, 375), (1000, 375)),  # the height ratio binds
    ((1333, 800), (1042, 625)),  # 1333 x 800: the height reaches the input exactly, by rounding
    ((1333, 800), (1427, 856)),
])
def test_resized_size_of_scales_not_multiples_of_32(scale, image_size):
    """The keep-ratio size of mmdet's Resize where the input (the scale
    padded to /32) is larger than the scale."""
    preprocess = Preprocess(input_size=padded_to(scale), resize_scale=scale)
    assert resized_size(*image_size, preprocess) == mmdet_resized_size(*image_size, scale)


def test_landscape_image_fitted_inside_a_portrait_input():
    """A portrait scale and a landscape image: the pipeline's 416 x 126 is
    wider than the 128 px input, so the image is fitted by its width."""
    preprocess = Preprocess(input_size=(416, 128), resize_scale=(128, 416))
    assert mmdet_resized_size(621, 188, (128, 416)) == (416, 126)
    assert resized_size(621, 188, preprocess) == (128, 39)  # 621 x 128 / 621, 188 x 128 / 621


@pytest.mark.parametrize('shape', [(100, 417, 3), (129, 300, 3)])
def test_pad_to_input_refuses_an_image_larger_than_the_input(shape):
    preprocess = Preprocess(input_size=(128, 416), resize_scale=(416, 128))
    height, width = shape[:2]
    with pytest.raises(ValueError, match=f'^a {width} x {height} resized image is larger than '
                       'the model input 416 x 128$'):
        pad_to_input(np.zeros(shape, np.uint8), preprocess)


def test_pad_to_input_keeps_the_dtype():
    preprocess = Preprocess(input_size=(4, 6), resize_scale=(6, 4), pad_value=2.5)
    padded = pad_to_input(np.ones((3, 5, 3), np.float32), preprocess)
    assert padded.dtype == np.float32 and padded[3:].min() == 2.5 and padded[:, 5:].min() == 2.5


def test_read_image_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f'^cannot read an image from {tmp_path}/no.png$'):
        read_image(str(tmp_path / 'no.png'))


def write_model(path, input_shape, record=None) -> str:
    """An Identity model with the given input shape and export record."""
    graph = helper.make_graph(
        [helper.make_node('Identity', ['images'], ['boxes'])], 'plain',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info('boxes', TensorProto.FLOAT, input_shape)])
    model = helper.make_model(graph, ir_version=10)
    if record is not None:
        helper.set_model_props(model, {METADATA_KEY: json.dumps(record)})
    save(model, str(path))
    return str(path)


def test_refusals_name_the_file_and_what_to_do(tmp_path):
    plain = write_model(tmp_path / 'plain.onnx', [1, 3, 32, 32])
    with pytest.raises(ValueError, match=f"^{plain} has no 'yolo_plugin' metadata: export it "
                       'with tools/export_onnx.py$'):
        ONNXDetector(plain)
    record = dict(classes=['Car'], test_cfg=dict(clip_to_image=False),
                  preprocess=Preprocess((32, 32), (32, 32)).to_json())
    batch_4 = write_model(tmp_path / 'batch_4.onnx', [4, 3, 32, 32], record)
    with pytest.raises(ValueError, match=f'^{batch_4} has a fixed batch of 4; '
                       'tools/export_onnx.py writes 1 or, with --dynamic-batch, any$'):
        ONNXDetector(batch_4)
    with pytest.raises(FileNotFoundError, match=f'ONNX model not found: {tmp_path}/none.onnx'):
        ONNXDetector(str(tmp_path / 'none.onnx'))


def test_session_settings(dynamic_export, static_export):
    """Threads (0: ONNX Runtime's choice) and providers reach the session;
    images a run: 8 by default on a dynamic batch, 1 on a fixed one."""
    default = ONNXDetector(dynamic_export)
    assert default.session.get_session_options().intra_op_num_threads == 0
    assert default.session.get_providers() == ['CPUExecutionProvider']
    assert default.batch_size == 8
    assert ONNXDetector(static_export, batch_size=8).batch_size == 1
    one_thread = ONNXDetector(dynamic_export, num_threads=1)
    assert one_thread.session.get_session_options().intra_op_num_threads == 1
    if 'AzureExecutionProvider' not in ort.get_available_providers():
        pytest.skip('this ONNX Runtime build has only the CPU provider')
    providers = ['AzureExecutionProvider', 'CPUExecutionProvider']
    assert ONNXDetector(dynamic_export, providers=providers).session.get_providers() == providers


def test_a_fixed_batch_model_runs_any_number_of_images(static_export, tmp_path):
    images = [read_image(path) for path in write_images(tmp_path, [(621, 188), (300, 100)])]
    detector = ONNXDetector(static_export)
    assert [len(dets.scores) for dets in detector(images * 2)] == \
        [len(detector([image])[0].scores) for image in images * 2]


def test_to_image_pixels_clips_as_the_export_says(dynamic_export, static_export):
    """Boxes divided by the scale factor, clipped to the image only when the
    export's test_cfg has clip_to_image; float32 either way."""
    dets = Detections(boxes=np.array([[-8., -2., 420., 100.], [10., 20., 30., 40.]], np.float32),
                      scores=np.array([0.9, 0.8], np.float32), labels=np.array([0, 1]))
    unclipped = ONNXDetector(dynamic_export)
    clipped = ONNXDetector(static_export)
    assert (unclipped.clip_to_image, clipped.clip_to_image) == (False, True)
    expected = dets.boxes / np.array([2, 4, 2, 4], np.float32)
    boxes = unclipped.to_image_pixels(dets, (24, 200), (2.0, 4.0)).boxes
    assert boxes.dtype == np.float32
    np.testing.assert_array_equal(boxes, expected)
    boxes = clipped.to_image_pixels(dets, (24, 200), (2.0, 4.0)).boxes
    assert boxes.dtype == np.float32
    np.testing.assert_array_equal(boxes, [[0, 0, 200, 24], expected[1]])


def test_script_prints_detections_at_or_above_the_threshold(dynamic_export, tmp_path,
                                                             monkeypatch, capsys):
    """``python onnx_runner.py MODEL IMAGES --score-thr T`` in this process:
    one JSON line an image, the detections scoring at least T, boxes and
    scores rounded, class names of the export."""
    paths = write_images(tmp_path, [(621, 188), (1242, 375)])
    detector = ONNXDetector(dynamic_export)
    all_dets = [detector([read_image(path)])[0] for path in paths]
    threshold = float(all_dets[0].scores[3])  # a score itself: kept (>=)
    for argv, thr in [([], 0.3), (['--score-thr', repr(threshold)], threshold)]:
        monkeypatch.setattr('sys.argv', ['onnx_runner.py', dynamic_export, *paths, *argv])
        onnx_runner.main()
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == len(paths)
        for line, path, dets in zip(lines, paths, all_dets):
            kept = dets.scores >= np.float32(thr)
            assert json.loads(line) == dict(file=path, detections=[
                dict(bbox=[round(float(v), 2) for v in box], score=round(float(score), 4),
                     label=int(label), **{'class': detector.classes[label]})
                for box, score, label in zip(dets.boxes[kept], dets.scores[kept],
                                             dets.labels[kept])])
    assert len(json.loads(lines[0])['detections']) >= 4  # the last run: down to scores[3]


def test_script_help_names_its_arguments(monkeypatch, capsys):
    monkeypatch.setattr('sys.argv', ['onnx_runner.py', '--help'])
    with pytest.raises(SystemExit) as exit_info:
        onnx_runner.main()
    assert exit_info.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())  # argparse wraps the lines
    for line in ('Detect objects with an exported model; one JSON line an image.',
                 'model .onnx file written by tools/export_onnx.py', 'images image files',
                 '--score-thr SCORE_THR list detections scoring at least this'):
        assert re.search(rf'(^|\s){re.escape(line)}(\s|$)', text), line
