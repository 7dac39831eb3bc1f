"""The exported graph: its interface, its detections against the PyTorch
model's ``test_step`` on the same input, and the configs it refuses."""
import json
import os.path as osp

import numpy as np
import pytest

onnx = pytest.importorskip('onnx', reason='the deploy extra: pip install -e .[deploy]')
ort = pytest.importorskip('onnxruntime', reason='the deploy extra: pip install -e .[deploy]')

from yolo_plugin.deploy.export import export_onnx, exportable_head  # noqa: E402
from yolo_plugin.deploy.postprocess import ExportError  # noqa: E402
from yolo_plugin.deploy.onnx_runner import (METADATA_KEY, Preprocess, letterbox,  # noqa: E402
                                            read_image, to_input)
from .conftest import DYNAMIC_TEST_CFG, STATIC_TEST_CFG  # noqa: E402
from .pytorch_reference import (DEMO_CONFIG, INPUT_SIZE, compare_detections,  # noqa: E402
                                load_demo_model, random_demo_model, reference_detections)

FLOAT, INT64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
DEMO_PREPROCESS = Preprocess(input_size=INPUT_SIZE, resize_scale=(416, 128))


def signature(values) -> list:
    """``(name, dtype, shape)`` of graph inputs or outputs; a symbolic
    dimension as its name."""
    return [(value.name, value.type.tensor_type.elem_type,
             [dim.dim_param or dim.dim_value for dim in value.type.tensor_type.shape.dim])
            for value in values]


@pytest.mark.parametrize('export, batch, max_per_img', [
    ('dynamic_export', 'batch', 100), ('static_export', 1, 30)], ids=['dynamic', 'static'])
def test_interface(export, batch, max_per_img, request):
    model = onnx.load(request.getfixturevalue(export))
    onnx.checker.check_model(model, full_check=True)
    height, width = INPUT_SIZE
    assert signature(model.graph.input) == [('images', FLOAT, [batch, 3, height, width])]
    assert signature(model.graph.output) == [
        ('num_dets', INT64, [batch]), ('boxes', FLOAT, [batch, max_per_img, 4]),
        ('scores', FLOAT, [batch, max_per_img]), ('labels', INT64, [batch, max_per_img])]
    assert [opset.version for opset in model.opset_import if opset.domain == ''] == [18]
    ops = {node.op_type for node in model.graph.node}
    assert {'NonMaxSuppression', 'TopK', 'Conv'} <= ops
    assert 'BatchNormalization' not in ops  # folded into the convs
    record = json.loads({prop.key: prop.value for prop in model.metadata_props}[METADATA_KEY])
    assert record['classes'] == ['Car', 'Pedestrian', 'Cyclist']
    assert record['preprocess'] == dict(resize_scale=[416, 128], keep_ratio=True,
                                        interpolation='bilinear', pad_value=0.0)
    assert record['test_cfg']['max_per_img'] == max_per_img


def demo_inputs(root: str, count: int) -> list:
    """``count`` demo val frames letterboxed to the input (BGR), the last
    one mirrored and darkened so that no two images of a batch are alike."""
    with open(osp.join(root, 'ImageSets', 'val.txt')) as f:
        ids = f.read().split()[:count]
    images = [letterbox(read_image(osp.join(root, 'training', 'image_2', f'{id_}.png')),
                        DEMO_PREPROCESS).image for id_ in ids]
    images[-1] = (images[-1][:, ::-1] * 0.6).astype(np.uint8)
    return images


@pytest.mark.parametrize('export, test_cfg, batch', [
    ('dynamic_export', DYNAMIC_TEST_CFG, 1),
    ('dynamic_export', DYNAMIC_TEST_CFG, 3),
    ('static_export', STATIC_TEST_CFG, 1)], ids=['dynamic-1', 'dynamic-3', 'static-1'])
def test_detections_equal_pytorch(export, test_cfg, batch, request, demo_checkpoint,
                                  demo_kitti_root):
    """ONNX Runtime on the exported graph and the PyTorch model (BatchNorm
    not folded) on the same letterboxed frames: the same detections."""
    images = demo_inputs(demo_kitti_root, batch)
    expected = reference_detections(load_demo_model(demo_checkpoint, test_cfg), images)
    session = ort.InferenceSession(request.getfixturevalue(export))
    num_dets, boxes, scores, labels = session.run(None, {'images': to_input(images)})
    assert len(num_dets) == batch
    for index, reference in enumerate(expected):
        count = int(num_dets[index])
        assert count > 0
        compare_detections(reference, dict(boxes=boxes[index, :count],
                                           scores=scores[index, :count],
                                           labels=labels[index, :count]),
                           box_tol=1e-3, score_tol=1e-5)


def test_refuses_unknown_candidate_score(demo_checkpoint, tmp_path):
    with pytest.raises(ExportError, match=r'yolov3_s_kitti_demo.py: test_cfg.candidate_score'):
        export_onnx(DEMO_CONFIG, demo_checkpoint, str(tmp_path / 'x.onnx'),
                    cfg_options={'model.test_cfg.candidate_score': 'objectness'})
    assert not (tmp_path / 'x.onnx').exists()


def test_refuses_another_head(demo_checkpoint, tmp_path):
    """mmdet's own YOLOv3 head decodes and post-processes differently."""
    mmdet_head = dict(_delete_=True, type='mmdet.YOLOV3Head', num_classes=3,
                      in_channels=[128, 64, 32], out_channels=[256, 128, 64])
    with pytest.raises(ExportError, match=r'bbox_head of type YOLOV3Head cannot be exported'):
        export_onnx(DEMO_CONFIG, demo_checkpoint, str(tmp_path / 'x.onnx'),
                    cfg_options={'model.bbox_head': mmdet_head})


def test_head_subclasses():
    """A subclass of the head under another name exports; one with its own
    ``predict_by_feat`` is refused (the graph follows the original)."""
    model = random_demo_model()
    head_type = type(model.bbox_head)
    model.bbox_head.__class__ = type('RenamedHead', (head_type, ), {})
    assert exportable_head(model, 'my_config.py') is model.bbox_head
    model.bbox_head.__class__ = type('OwnPredictHead', (head_type, ),
                                     dict(predict_by_feat=head_type.predict_by_feat))
    with pytest.raises(ExportError, match='my_config.py: model.bbox_head of type OwnPredictHead'):
        exportable_head(model, 'my_config.py')


@pytest.mark.parametrize('kwargs, message', [
    (dict(img_size=(120, 416)), r'image size \(120, 416\) must be a multiple of .* 32'),
    (dict(opset=17), 'opset 17 is below 18')], ids=['img_size', 'opset'])
def test_refuses_export_arguments(kwargs, message, demo_checkpoint, tmp_path):
    with pytest.raises(ExportError, match=message):
        export_onnx(DEMO_CONFIG, demo_checkpoint, str(tmp_path / 'x.onnx'), **kwargs)
