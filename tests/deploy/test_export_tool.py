"""tools/export_onnx.py: its flags reach the export and the quantisation."""
import runpy
import sys

import pytest

pytest.importorskip('onnx', reason='the deploy extra: pip install -e .[deploy]')
pytest.importorskip('onnxruntime', reason='the deploy extra: pip install -e .[deploy]')

from yolo_plugin.deploy import export, quantize  # noqa: E402
from yolo_plugin.deploy.postprocess import ExportError  # noqa: E402
from .pytorch_reference import DEMO_CONFIG  # noqa: E402

TOOL = 'tools/export_onnx.py'


def run_tool(monkeypatch, *argv) -> dict:
    """Run the tool with the export and quantisation recorded, not run."""
    calls = {}

    def fake_export(*args, **kwargs):
        calls['export'] = (args, kwargs)
        return args[2]

    def fake_quantize(*args, **kwargs):
        calls['quantize'] = (args, kwargs)
        return args[1]

    monkeypatch.setattr(export, 'export_onnx', fake_export)
    monkeypatch.setattr(quantize, 'quantize_int8', fake_quantize)
    monkeypatch.setattr(sys, 'argv', [TOOL, *argv])
    runpy.run_path(TOOL, run_name='__main__')
    return calls


def test_export_flags(monkeypatch, capsys):
    calls = run_tool(monkeypatch, DEMO_CONFIG, 'model.pth', 'out/model.onnx',
                     '--img-size', '160', '480', '--dynamic-batch', '--opset', '19',
                     '--cfg-options', 'model.test_cfg.max_per_img=50')
    assert calls == {'export': ((DEMO_CONFIG, 'model.pth', 'out/model.onnx'), dict(
        img_size=(160, 480), dynamic_batch=True, opset=19,
        cfg_options={'model.test_cfg.max_per_img': 50}))}
    assert 'out/model.onnx written' in capsys.readouterr().out


def test_quantize_flags(monkeypatch, demo_kitti_root):
    calls = run_tool(monkeypatch, DEMO_CONFIG, 'model.pth', 'model.onnx', '--quantize', 'int8',
                     '--calib-images', '5', '--cfg-options',
                     f'train_dataloader.dataset.data_root={demo_kitti_root}/')
    (onnx_file, int8_file, images), kwargs = calls['quantize']
    assert (onnx_file, int8_file, kwargs) == ('model.onnx', 'model.int8.onnx', {})
    assert len(images) == 5 and all(path.startswith(demo_kitti_root) for path in images)


def test_refusal_is_a_message(monkeypatch):
    def refuse(*args, **kwargs):
        raise ExportError('configs/x.py: test_cfg.candidate_score must be ...')

    monkeypatch.setattr(export, 'export_onnx', refuse)
    monkeypatch.setattr(sys, 'argv', [TOOL, DEMO_CONFIG, 'model.pth', 'model.onnx'])
    with pytest.raises(SystemExit, match='export refused: configs/x.py: test_cfg'):
        runpy.run_path(TOOL, run_name='__main__')
