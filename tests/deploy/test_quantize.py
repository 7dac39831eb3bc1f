"""int8 quantisation of an exported model: a valid model, int8 where it
should be, and detections that mostly agree with the fp32 model."""
import glob
import json
import os.path as osp

import pytest

onnx = pytest.importorskip('onnx', reason='the deploy extra: pip install -e .[deploy]')
pytest.importorskip('onnxruntime', reason='the deploy extra: pip install -e .[deploy]')

from yolo_plugin.deploy.quantize import (fp32_tail_nodes, quantize_int8,  # noqa: E402
                                         training_images)
from yolo_plugin.deploy.onnx_runner import METADATA_KEY, ONNXDetector, read_image  # noqa: E402
from .pytorch_reference import DEMO_CONFIG, box_iou  # noqa: E402

NUM_CALIBRATION_IMAGES = 6
# Share of the fp32 detections scoring at least 0.3 that the int8 model
# finds (same class, IoU >= 0.5); measured 0.90 on the random demo model.
MIN_AGREEMENT = 0.85


@pytest.fixture(scope='module')
def int8_export(dynamic_export, demo_kitti_root, tmp_path_factory) -> str:
    images = training_images(DEMO_CONFIG, NUM_CALIBRATION_IMAGES, cfg_options={
        'train_dataloader.dataset.data_root': f'{demo_kitti_root}/'})
    assert len(images) == NUM_CALIBRATION_IMAGES and all(map(osp.isfile, images))
    out = tmp_path_factory.mktemp('int8') / 'dynamic.int8.onnx'
    return quantize_int8(dynamic_export, str(out), images)


def test_int8_model(int8_export, dynamic_export):
    """int8 weights in the backbone and neck; the prediction convs, decode
    and post-processing as in the fp32 model; the export's metadata kept."""
    model = onnx.load(int8_export)
    onnx.checker.check_model(model, full_check=True)
    int8_weights = {init.name for init in model.graph.initializer
                    if init.data_type == onnx.TensorProto.INT8}
    dequantized = {node.output[0] for node in model.graph.node
                   if node.op_type == 'DequantizeLinear' and node.input[0] in int8_weights}
    convs = [node for node in model.graph.node if node.op_type == 'Conv']
    int8_convs = [conv for conv in convs if conv.input[1] in dequantized]
    fp32 = onnx.load(dynamic_export)
    tail = set(fp32_tail_nodes(fp32))
    assert len(int8_convs) == len(convs) - 3  # all but the three prediction convs
    assert {conv.name for conv in convs} - {conv.name for conv in int8_convs} <= tail
    assert {node.op_type for node in fp32.graph.node if node.name in tail} >= {
        'Sigmoid', 'Exp', 'NonMaxSuppression', 'TopK'}
    record = json.loads({prop.key: prop.value for prop in model.metadata_props}[METADATA_KEY])
    assert record['int8'] == dict(calibration_images=NUM_CALIBRATION_IMAGES, per_channel=True,
                                  reduce_range=True)
    assert record['classes'] == ['Car', 'Pedestrian', 'Cyclist']


def test_int8_detections_agree_with_fp32(int8_export, dynamic_export, demo_kitti_root):
    images = [read_image(path) for path in
              sorted(glob.glob(osp.join(demo_kitti_root, 'training', 'image_2', '*.png')))]
    found = total = 0
    for fp32, int8 in zip(ONNXDetector(dynamic_export)(images), ONNXDetector(int8_export)(images)):
        confident = fp32.scores >= 0.3
        overlap = box_iou(fp32.boxes[confident], int8.boxes)
        overlap[fp32.labels[confident][:, None] != int8.labels[None]] = 0
        found += int((overlap.max(1, initial=0) >= 0.5).sum())
        total += int(confident.sum())
    assert total > 100
    assert found / total >= MIN_AGREEMENT, found / total
