"""What the flags of tools/train.py and tools/test.py do to a config."""
import os.path as osp

import pytest
import torch

from yolo_plugin.engine import config_setup
from yolo_plugin.engine.cli import make_test_parser, make_train_parser
from yolo_plugin.engine.config_setup import (apply_test_args, apply_train_args,
                                             draw_tests_only_when_asked, load_config,
                                             tta_pipeline_from_test)

DEMO = 'configs/yolov3_s_kitti_demo.py'
KITTI = 'configs/yolov3_kitti.py'


def _train_cfg(argv):
    args = make_train_parser().parse_args(argv)
    return apply_train_args(load_config(args.config, args.cfg_options), args)


def test_train_flags_parse_as_mmdet():
    args = make_train_parser().parse_args([DEMO])
    assert (args.resume, args.amp, args.auto_scale_lr) == (None, False, False)
    assert args.launcher == 'none'
    assert make_train_parser().parse_args([DEMO, '--resume']).resume == 'auto'
    assert make_train_parser().parse_args([DEMO, '--resume', 'a.pth']).resume == 'a.pth'
    args = make_train_parser().parse_args(
        [DEMO, '--cfg-options', 'train_cfg.max_epochs=3', 'model.bbox_head.num_classes=2',
         '--launcher', 'pytorch', '--local-rank', '1'])
    assert args.cfg_options == {'train_cfg.max_epochs': 3, 'model.bbox_head.num_classes': 2}
    assert (args.launcher, args.local_rank) == ('pytorch', 1)
    with pytest.raises(SystemExit):
        make_train_parser().parse_args([DEMO, '--launcher', 'slurm'])


def test_work_dir_resume_and_options():
    cfg = _train_cfg([DEMO, '--cfg-options', 'train_cfg.max_epochs=3'])
    assert cfg.work_dir == osp.join('./work_dirs', 'yolov3_s_kitti_demo')
    assert cfg.train_cfg.max_epochs == 3
    assert (cfg.resume, cfg.load_from) == (False, None)
    cfg = _train_cfg([DEMO, '--work-dir', 'w', '--resume'])
    assert (cfg.work_dir, cfg.resume, cfg.load_from) == ('w', True, None)
    cfg = _train_cfg([DEMO, '--resume', 'w/epoch_3.pth'])
    assert (cfg.resume, cfg.load_from) == (True, 'w/epoch_3.pth')


def test_auto_scale_lr():
    assert _train_cfg([DEMO, '--auto-scale-lr']).auto_scale_lr.enable is True
    with pytest.raises(KeyError, match='auto_scale_lr'):
        _train_cfg([DEMO, '--auto-scale-lr', '--cfg-options', 'auto_scale_lr=None'])


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU choices')
@pytest.mark.parametrize('native_bfloat16', [True, False])
def test_amp_on_a_cpu(native_bfloat16, monkeypatch):
    """--amp on a CPU: bfloat16 mixed precision where the CPU computes
    bfloat16 natively, else a clear error (it would be emulated, slower)."""
    monkeypatch.setattr(config_setup, 'cpu_has_native_bfloat16', lambda: native_bfloat16)
    if native_bfloat16:
        assert _train_cfg([DEMO, '--amp']).optim_wrapper.type == 'BFloat16OptimWrapper'
    else:
        with pytest.raises(ValueError, match='--amp needs a CUDA GPU, or a CPU with native'):
            _train_cfg([DEMO, '--amp'])


def test_missing_config_named():
    with pytest.raises(FileNotFoundError, match='configs/nope.py'):
        load_config('configs/nope.py')


def test_test_flags():
    args = make_test_parser().parse_args([KITTI, 'c.pth', '--out', 'r.pkl', '--show-dir', 'show',
                                          '--tta', '--work-dir', 'w'])
    cfg = apply_test_args(load_config(args.config), args)
    assert cfg.load_from == 'c.pth' and cfg.work_dir == 'w'
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.default_hooks.visualization.test_out_dir == 'show'
    # TTA: DetTTAModel around the model, the TTA pipeline for the test data
    assert cfg.model.type == 'DetTTAModel' and cfg.model.module.type == 'YOLODetector'
    assert cfg.test_dataloader.dataset.pipeline == cfg.tta_pipeline


def test_tests_draw_only_into_a_show_dir():
    """Validation draws (the runtime config's ``draw``); a test would draw
    every image with it, so it draws only where --show-dir asks."""
    cfg = load_config(KITTI)
    assert cfg.default_hooks.visualization.draw is True
    draw_tests_only_when_asked(cfg)
    assert cfg.default_hooks.visualization.draw is False
    args = make_test_parser().parse_args([KITTI, 'c.pth', '--show-dir', 'show'])
    cfg = apply_test_args(load_config(KITTI), args)
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
    args = make_test_parser().parse_args([DEMO, 'c.pth', '--tta'])
    cfg = load_config(args.config)
    cfg.tta_model = None
    with pytest.raises(KeyError, match='tta_model'):
        apply_test_args(cfg, args)
    cfg = load_config(args.config)
    cfg.tta_scale_ratios = None
    with pytest.raises(KeyError, match='tta_pipeline or tta_scale_ratios'):
        apply_test_args(cfg, args)
