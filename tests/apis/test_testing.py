"""What testing a checkpoint changes in the config (the flags of
tools/test.py), and the test-time augmentation pipeline."""
import os.path as osp

import pytest

from tests.tools.tool_module import load_tool
from yolo_plugin.apis import load_config, setup_testing
from yolo_plugin.apis.testing import draw_tests_only_when_asked, tta_pipeline_from_test

DEMO = 'configs/yolov3_s_kitti_demo.py'
KITTI = 'configs/yolov3_kitti.py'


def test_test_flags():
    args = load_tool('test').parse_args([KITTI, 'c.pth', '--out', 'r.pkl', '--show-dir', 'show',
                                         '--tta', '--work-dir', 'w'])
    assert (args.checkpoint, args.out, args.show_dir, args.tta, args.work_dir) == (
        'c.pth', 'r.pkl', 'show', True, 'w')
    cfg = setup_testing(load_config(KITTI), 'c.pth', work_dir='w', out='r.pkl', show_dir='show',
                        tta=True)
    assert cfg.load_from == 'c.pth' and cfg.work_dir == 'w'
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.default_hooks.visualization.test_out_dir == 'show'
    # TTA: DetTTAModel around the model, the TTA pipeline for the test data
    assert cfg.model.type == 'DetTTAModel' and cfg.model.module.type == 'YOLODetector'
    assert cfg.test_dataloader.dataset.pipeline == cfg.tta_pipeline
    # --out: mmdet's DumpDetResults after the config's metrics
    assert [m['type'] for m in cfg.test_evaluator] == ['KittiMetric', 'FastCocoMetric',
                                                       'DumpDetResults']
    assert cfg.test_evaluator[-1]['out_file_path'] == osp.abspath('r.pkl')
    with pytest.raises(ValueError, match='--out must name a .pkl or .pickle file'):
        setup_testing(load_config(KITTI), 'c.pth', out='r.json')


def test_tests_draw_only_into_a_show_dir():
    """Validation draws (the runtime config's ``draw``); a test would draw
    every image with it, so it draws only where --show-dir asks."""
    cfg = load_config(KITTI)
    assert cfg.default_hooks.visualization.draw is True
    draw_tests_only_when_asked(cfg)
    assert cfg.default_hooks.visualization.draw is False
    assert setup_testing(load_config(KITTI), 'c.pth').default_hooks.visualization.draw is False
    cfg = setup_testing(load_config(KITTI), 'c.pth', show_dir='show')
    draw_tests_only_when_asked(cfg)
    assert cfg.default_hooks.visualization.draw is True


def test_tta_pipeline_follows_the_test_scale():
    cfg = load_config('configs/ablations/yolov3_kitti_320.py')
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    tta = tta_pipeline_from_test(test_pipeline, (0.5, 1.0))
    assert tta[0] == test_pipeline[0]
    scales, flips, *rest = tta[1]['transforms']
    assert [s['scale'] for s in scales] == [(530, 160), (1060, 320)]
    assert all(s['keep_ratio'] for s in scales)
    assert [f['prob'] for f in flips] == [1.0, 0.0]
    # resize, then flip, then the test pipeline's own later steps
    assert [r[0] for r in rest] == list(test_pipeline[2:])
    with pytest.raises(ValueError, match='no Resize'):
        tta_pipeline_from_test(test_pipeline[:1], (1.0, ))


def test_tta_needs_the_config_entries():
    cfg = load_config(DEMO)
    cfg.tta_model = None
    with pytest.raises(KeyError, match='tta_model'):
        setup_testing(cfg, 'c.pth', tta=True)
    cfg = load_config(DEMO)
    cfg.tta_scale_ratios = None
    with pytest.raises(KeyError, match='tta_pipeline or tta_scale_ratios'):
        setup_testing(cfg, 'c.pth', tta=True)
