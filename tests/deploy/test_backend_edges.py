"""Edges of the ONNX Runtime backend found by mutation testing
(docs/testing.md): its settings, refusals, the test pipeline it rewrites,
the config it rewrites for tools/test.py and the classes it reports."""
import pytest
import torch

pytest.importorskip('onnx', reason='the deploy extra: pip install -e .[deploy]')
pytest.importorskip('onnxruntime', reason='the deploy extra: pip install -e .[deploy]')

from mmdet.models.data_preprocessors import DetDataPreprocessor  # noqa: E402
from mmdet.structures import DetDataSample  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from yolo_plugin.apis.config import split_dataset_cfg  # noqa: E402
from yolo_plugin.deploy.backend import (ONNXRuntimeDetector, load_onnx_detector,  # noqa: E402
                                        use_export_preprocess, use_onnx_model)
from yolo_plugin.deploy.onnx_runner import Preprocess  # noqa: E402
from .pytorch_reference import DEMO_CONFIG, demo_config  # noqa: E402


def threads(model: ONNXRuntimeDetector) -> int:
    return model.detector.session.get_session_options().intra_op_num_threads


def test_model_settings(dynamic_export):
    model = ONNXRuntimeDetector(dynamic_export)
    assert model.onnx_file == dynamic_export and model.detector.batch_size == 8
    assert threads(model) == torch.get_num_threads()
    model = ONNXRuntimeDetector(dynamic_export, num_threads=1, batch_size=3,
                                data_preprocessor=dict(type='mmdet.DetDataPreprocessor'))
    assert threads(model) == 1 and model.detector.batch_size == 3
    assert isinstance(model.data_preprocessor, DetDataPreprocessor)


def sample(height: int, width: int) -> DetDataSample:
    return DetDataSample(metainfo=dict(ori_shape=(height, width), scale_factor=(1.0, 1.0)))


def test_forward_predicts_and_refuses_the_rest(dynamic_export):
    model = ONNXRuntimeDetector(dynamic_export)
    image = torch.full((3, 128, 416), 100, dtype=torch.uint8)
    (result, ) = model([image], [sample(128, 416)])  # mode: 'predict' by default
    assert len(result.pred_instances.scores) > 0
    with pytest.raises(ValueError) as error:
        model([image], [sample(128, 416)], mode='loss')
    assert str(error.value) == f"{dynamic_export}: an ONNX model only predicts, not 'loss'"
    with pytest.raises(ValueError) as error:
        model([torch.zeros(3, 160, 416, dtype=torch.uint8)], [sample(160, 416)])
    assert str(error.value) == (f'{dynamic_export}: a 416 x 160 resized image is larger than '
                                'the model input 416 x 128; the test pipeline must resize as '
                                'the export (use_export_preprocess)')


def test_export_preprocess_rewrites_every_resize_step():
    cfg = demo_config()
    pipeline = split_dataset_cfg(cfg, 'test').pipeline
    pipeline.insert(2, dict(type='mmdet.Resize', scale=(10, 10), keep_ratio=True))
    before = [dict(step) for step in pipeline]
    use_export_preprocess(cfg, Preprocess(input_size=(96, 320), resize_scale=(320, 96),
                                          keep_ratio=False, interpolation='area'))
    for old, new in zip(before, split_dataset_cfg(cfg, 'test').pipeline):
        if str(old['type']).split('.')[-1] == 'Resize':
            assert new == {**old, 'scale': (320, 96), 'keep_ratio': False,
                           'interpolation': 'area'}
        else:
            assert new == old
    assert sum(str(step['type']).endswith('Resize') for step in before) == 2


@pytest.mark.parametrize('hooks', ['with ema', 'without ema', 'no default_hooks'])
def test_use_onnx_model_rewrites_the_config(dynamic_export, hooks):
    cfg = demo_config()
    cfg.load_from = 'model.pth'
    if hooks == 'with ema':
        cfg.default_hooks.ema = dict(type='EMAHook')
    elif hooks == 'without ema':
        cfg.default_hooks.pop('ema', None)
    else:
        cfg = Config({key: value for key, value in cfg.items() if key != 'default_hooks'})
    use_onnx_model(cfg, dynamic_export)
    assert cfg.model == dict(type='ONNXRuntimeDetector', onnx_file=dynamic_export, batch_size=8)
    assert cfg.load_from is None and 'ema' not in cfg.get('default_hooks', {})
    use_onnx_model(cfg, dynamic_export, batch_size=2)
    assert cfg.model.batch_size == 2


def test_load_onnx_detector(dynamic_export):
    """The config's options apply; its data set's palette comes with the
    export's classes when they are the config's, the export's classes alone
    otherwise."""
    model = load_onnx_detector(DEMO_CONFIG, dynamic_export,
                               cfg_options={'model.test_cfg.score_thr': 0.5})
    assert model.cfg.model.test_cfg.score_thr == 0.5 and model.detector.batch_size == 8
    assert list(model.dataset_meta['classes']) == ['Car', 'Pedestrian', 'Cyclist']
    assert len(model.dataset_meta['palette']) == 3
    model = load_onnx_detector(DEMO_CONFIG, dynamic_export, batch_size=3, cfg_options={
        'test_dataloader.dataset.metainfo': dict(classes=('Van', 'Truck', 'Tram'))})
    assert model.detector.batch_size == 3
    assert model.dataset_meta == dict(classes=['Car', 'Pedestrian', 'Cyclist'])


@pytest.mark.parametrize('scope', [None, 'mmdet'])
def test_load_onnx_detector_enters_the_config_scope(dynamic_export, scope):
    """The inference API builds the test pipeline in the current scope: the
    config's ``default_scope``, ``yolo_plugin`` for a config without one."""
    cfg = demo_config()
    cfg.test_dataloader.dataset.type = 'yolo_plugin.KittiDataset'
    if scope is None:
        cfg = Config({key: value for key, value in cfg.items() if key != 'default_scope'})
    else:
        cfg.default_scope = scope
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = load_onnx_detector(cfg, dynamic_export)
        assert DefaultScope.get_current_instance().scope_name == (scope or 'yolo_plugin')
    assert list(model.dataset_meta['classes']) == ['Car', 'Pedestrian', 'Cyclist']
