"""The standalone runner: its letterbox against the config's test pipeline,
its detections in original-image pixels against the PyTorch inference path
(``tools/infer.py``), and a run where torch and OpenMMLab are unimportable."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip('onnx', reason='the deploy extra: pip install -e .[deploy]')
pytest.importorskip('onnxruntime', reason='the deploy extra: pip install -e .[deploy]')

from mmdet.utils import get_test_pipeline_cfg  # noqa: E402
from mmengine.dataset import Compose  # noqa: E402

from yolo_plugin.deploy import onnx_runner  # noqa: E402
from yolo_plugin.deploy.onnx_runner import (ONNXDetector, Preprocess, letterbox,  # noqa: E402
                                            read_image)
from .conftest import DYNAMIC_TEST_CFG, STATIC_TEST_CFG  # noqa: E402
from .pytorch_reference import (INPUT_SIZE, compare_detections, demo_config,  # noqa: E402
                                load_demo_model, pipeline_detections)

# (w, h): the demo frames, KITTI frames, exact halves and thirds of the
# input, a narrower image (padded on the right), a wide one (padded at the
# bottom) and a small one (enlarged).
IMAGE_SIZES = [(621, 188), (1242, 375), (832, 256), (1248, 384), (300, 100), (2080, 500),
               (200, 60)]
RUNNER_FILE = Path(onnx_runner.__file__)
BLOCK_OPENMMLAB = '''
import sys
BLOCKED = {'torch', 'mmcv', 'mmengine', 'mmdet'}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in BLOCKED:
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
sys.meta_path.insert(0, Blocker())
'''
CHECK_NOTHING_BLOCKED_LOADED = '''
assert not BLOCKED & {name.partition('.')[0] for name in sys.modules}
'''


def write_images(folder: Path, sizes) -> list:
    """PNG files of smooth random images (blurred noise) of ``sizes``."""
    rng = np.random.default_rng(0)
    paths = []
    for width, height in sizes:
        noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        path = folder / f'{width}x{height}.png'
        cv2.imwrite(str(path), cv2.GaussianBlur(noise, (0, 0), 3))
        paths.append(str(path))
    return paths


@pytest.fixture(scope='module')
def image_files(tmp_path_factory) -> list:
    return write_images(tmp_path_factory.mktemp('runner_images'), IMAGE_SIZES)


def test_letterbox_equals_test_pipeline(dynamic_export, image_files):
    """The runner's resize and padding, read from the export's metadata,
    give the pixels and scale factors of the test pipeline (mmdet Resize
    keep_ratio + Pad size_divisor=32), padded further to the input."""
    preprocess = ONNXDetector(dynamic_export).preprocess
    pipeline = Compose(get_test_pipeline_cfg(demo_config()))
    for path in image_files:
        expected = pipeline(dict(img_path=path))
        image = expected['inputs'].permute(1, 2, 0).numpy()  # (h, w, 3) BGR
        height, width = image.shape[:2]
        boxed = letterbox(read_image(path), preprocess)
        np.testing.assert_array_equal(boxed.image[:height, :width], image)
        assert (boxed.image[height:] == 0).all() and (boxed.image[:, width:] == 0).all()
        assert boxed.scale_factor == expected['data_samples'].scale_factor


def test_detections_equal_inference_path(dynamic_export, image_files, demo_checkpoint):
    """Boxes in original-image pixels as ``tools/infer.py`` gives them: the
    test pipeline and ``test_step`` of the PyTorch model on one batch,
    padded to the input size as the runner pads each image (PyTorch on the
    300 x 100 image alone pads it to 384 x 128 only, and its detections near
    the right edge differ)."""
    expected = pipeline_detections(load_demo_model(demo_checkpoint, DYNAMIC_TEST_CFG),
                                   demo_config(DYNAMIC_TEST_CFG), image_files)
    actual = ONNXDetector(dynamic_export, batch_size=3)([read_image(p) for p in image_files])
    for reference, dets in zip(expected, actual):
        compare_detections(reference, dets._asdict(), box_tol=1e-2, score_tol=1e-5)


def test_clipped_detections_equal_inference_path(static_export, tmp_path, demo_checkpoint):
    """``clip_to_image`` with a fixed-batch model run image by image: the
    graph clips to the input before NMS and the runner to the image after
    it, PyTorch to the image before NMS. Equal here, also where the image
    leaves padding (boxes reaching into it could in principle be suppressed
    differently)."""
    paths = write_images(tmp_path, [(832, 256), (1248, 384), (621, 188), (300, 100)])
    expected = pipeline_detections(load_demo_model(demo_checkpoint, STATIC_TEST_CFG),
                                   demo_config(STATIC_TEST_CFG), paths)
    detector = ONNXDetector(static_export)
    for path, reference in zip(paths, expected):
        image = read_image(path)
        (actual, ) = detector([image])
        compare_detections(reference, actual._asdict(), box_tol=1e-2, score_tol=1e-5)
        height, width = image.shape[:2]
        assert (actual.boxes >= 0).all() and (actual.boxes <= [width, height] * 2).all()


def test_portrait_image_is_fitted_inside_the_input():
    """The pipeline's keep_ratio rule puts the long side along the scale's
    long side: a portrait image would not fit a landscape input, so it is
    fitted inside instead."""
    preprocess = Preprocess(input_size=INPUT_SIZE, resize_scale=(416, 128))
    boxed = letterbox(np.full((621, 188, 3), 7, np.uint8), preprocess)
    assert boxed.image.shape == (128, 416, 3)
    assert (boxed.image[:, :39] == 7).all() and (boxed.image[:, 39:] == 0).all()
    assert boxed.scale_factor == (39 / 188, 128 / 621)


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_runner_file_runs_without_torch_and_openmmlab(dynamic_export, image_files):
    """The runner file, loaded by path as on a deployment machine, with
    torch, mmcv, mmengine and mmdet unimportable: the same detections as in
    this process; and as a script."""
    image = image_files[0]
    stdout = run_python(BLOCK_OPENMMLAB + f'''
import importlib.util, json
spec = importlib.util.spec_from_file_location('onnx_runner', {str(RUNNER_FILE)!r})
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)
dets = runner.ONNXDetector({dynamic_export!r})([runner.read_image({image!r})])[0]
print(json.dumps({{key: value.tolist() for key, value in dets._asdict().items()}}))
''' + CHECK_NOTHING_BLOCKED_LOADED)
    expected = ONNXDetector(dynamic_export)([read_image(image)])[0]
    for key, value in json.loads(stdout).items():
        np.testing.assert_array_equal(np.asarray(value, getattr(expected, key).dtype),
                                      getattr(expected, key))

    stdout = run_python(BLOCK_OPENMMLAB + f'''
import runpy
sys.argv = ['onnx_runner.py', {dynamic_export!r}, {image!r}, '--score-thr', '0.5']
runpy.run_path({str(RUNNER_FILE)!r}, run_name='__main__')
''' + CHECK_NOTHING_BLOCKED_LOADED)
    record = json.loads(stdout)
    assert record['file'] == image
    kept = expected.scores >= 0.5
    assert [det['label'] for det in record['detections']] == expected.labels[kept].tolist()
    assert {det['class'] for det in record['detections']} <= {'Car', 'Pedestrian', 'Cyclist'}


def test_package_module_runs_without_torch(dynamic_export, image_files):
    """``yolo_plugin.deploy.onnx_runner`` from the package, on a machine
    without torch, mmcv, mmengine and mmdet: the package's import changes
    nothing there and the runner gives this process's detections."""
    image = image_files[0]
    stdout = run_python(BLOCK_OPENMMLAB + f'''
import json
from yolo_plugin.deploy.onnx_runner import ONNXDetector, read_image
dets = ONNXDetector({dynamic_export!r})([read_image({image!r})])[0]
print(json.dumps(dets.labels.tolist()))
''' + CHECK_NOTHING_BLOCKED_LOADED)
    expected = ONNXDetector(dynamic_export)([read_image(image)])[0]
    assert json.loads(stdout) == expected.labels.tolist()
