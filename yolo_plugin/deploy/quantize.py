"""Static int8 quantisation of an exported model with ONNX Runtime's
``quantize_static`` (``tools/export_onnx.py --quantize int8``), calibrated
on training images letterboxed as the runner does.
"""
import json
from typing import List, Optional, Sequence

import numpy as np
import onnx
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)

from yolo_plugin.apis import build_split_dataset, load_config
from .export import set_export_record
from .onnx_runner import METADATA_KEY, ONNXDetector, Preprocess, letterbox, read_image, to_input

# Operators quantised to int8; the prediction convs and everything after
# them (decode, post-processing) stay fp32.
INT8_OP_TYPES = ('Conv', 'LeakyRelu', 'Add', 'Concat', 'Resize')


def training_images(config: str, num_images: int,
                    cfg_options: Optional[dict] = None) -> List[str]:
    """Paths of ``num_images`` images spread evenly over the config's
    training set (all of them when it has fewer)."""
    dataset = build_split_dataset(load_config(config, cfg_options), 'train', pipeline=[])
    indices = np.linspace(0, len(dataset) - 1, min(num_images, len(dataset))).round()
    return [dataset.get_data_info(int(index))['img_path'] for index in indices]


class _LetterboxedImages(CalibrationDataReader):
    """Calibration batches of one image each, letterboxed as the runner does."""

    def __init__(self, paths: Sequence[str], preprocess: Preprocess, input_name: str) -> None:
        self._paths = iter(paths)
        self._preprocess = preprocess
        self._input_name = input_name

    def get_next(self) -> Optional[dict]:
        path = next(self._paths, None)
        if path is None:
            return None
        return {self._input_name: to_input([letterbox(read_image(path), self._preprocess).image])}


def fp32_tail_nodes(model: onnx.ModelProto) -> List[str]:
    """Names of the nodes no Conv depends on: the prediction convs, the
    decode and the post-processing, which int8 would make too coarse."""
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    feeds_conv = set()
    for node in reversed(model.graph.node):  # a graph's nodes are in topological order
        if any(user.op_type == 'Conv' or user.name in feeds_conv
               for name in node.output for user in consumers.get(name, ())):
            feeds_conv.add(node.name)
    return [node.name for node in model.graph.node if node.name not in feeds_conv]


def quantize_int8(onnx_file: str, out_file: str, calibration_images: Sequence[str],
                  per_channel: bool = True, reduce_range: bool = True) -> str:
    """Write a statically quantised copy of the exported ``onnx_file``:
    ONNX Runtime's ``quantize_static`` (QDQ format, uint8 activations,
    int8 weights, per output channel with ``per_channel``), activation
    ranges the minimum and maximum over ``calibration_images`` (image files,
    letterboxed as the runner does). The backbone and neck are int8; the
    prediction convs, decode and post-processing stay fp32. The export's
    metadata is kept.

    MinMax calibration keeps two numbers a tensor an image; ONNX Runtime's
    histogram calibrations (entropy, percentile) hold every activation of
    every calibration image in memory, and gave no better mAP on the demo.

    ``reduce_range``: 7-bit weights, which x86 CPUs without VNNI (AVX2,
    AVX-512 before VNNI) need: their uint8 x int8 products saturate 16-bit
    sums otherwise (ONNX Runtime's advice; on the trained demo model, 100
    calibration images, 0.41 KITTI Moderate mAP points below fp32 with it,
    0.73 without, on this AVX2 machine).

    Returns:
        ``out_file``.
    """
    if not calibration_images:
        raise ValueError('quantize_int8 needs at least one calibration image')
    detector = ONNXDetector(onnx_file)
    model = onnx.load(onnx_file)
    quantize_static(
        model, out_file,
        _LetterboxedImages(calibration_images, detector.preprocess, detector.input_name),
        quant_format=QuantFormat.QDQ, op_types_to_quantize=list(INT8_OP_TYPES),
        nodes_to_exclude=fp32_tail_nodes(model), per_channel=per_channel,
        reduce_range=reduce_range, activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    quantized = onnx.load(out_file)
    record = json.loads(next(prop.value for prop in model.metadata_props
                             if prop.key == METADATA_KEY))
    record['int8'] = dict(calibration_images=len(calibration_images), per_channel=per_channel,
                          reduce_range=reduce_range)
    set_export_record(quantized, record)
    onnx.checker.check_model(quantized, full_check=True)
    onnx.save(quantized, out_file)
    return out_file
