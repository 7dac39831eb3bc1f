"""What training from a config changes in it (the flags of tools/train.py),
and how tools/train.py parses those flags."""
import os.path as osp

import pytest
import torch

from tests.tools.tool_module import load_tool
from yolo_plugin.apis import load_config, setup_training
from yolo_plugin.apis import training

DEMO = 'configs/yolov3_s_kitti_demo.py'


def _train_cfg(**kwargs):
    return setup_training(load_config(DEMO, kwargs.pop('cfg_options', None)), **kwargs)


def test_train_flags_parse_as_mmdet():
    parse_args = load_tool('train').parse_args
    args = parse_args([DEMO])
    assert (args.resume, args.amp, args.auto_scale_lr) == (None, False, False)
    assert args.launcher == 'none'
    assert parse_args([DEMO, '--resume']).resume == 'auto'
    assert parse_args([DEMO, '--resume', 'a.pth']).resume == 'a.pth'
    args = parse_args(
        [DEMO, '--cfg-options', 'train_cfg.max_epochs=3', 'model.bbox_head.num_classes=2',
         '--launcher', 'pytorch', '--local-rank', '1'])
    assert args.cfg_options == {'train_cfg.max_epochs': 3, 'model.bbox_head.num_classes': 2}
    assert (args.launcher, args.local_rank) == ('pytorch', 1)
    with pytest.raises(SystemExit):
        parse_args([DEMO, '--launcher', 'slurm'])


def test_work_dir_resume_and_options():
    cfg = _train_cfg(cfg_options={'train_cfg.max_epochs': 3})
    assert cfg.work_dir == osp.join('./work_dirs', 'yolov3_s_kitti_demo')
    assert cfg.train_cfg.max_epochs == 3
    assert (cfg.resume, cfg.load_from) == (False, None)
    cfg = _train_cfg(work_dir='w', resume='auto')
    assert (cfg.work_dir, cfg.resume, cfg.load_from) == ('w', True, None)
    cfg = _train_cfg(resume='w/epoch_3.pth')
    assert (cfg.resume, cfg.load_from) == (True, 'w/epoch_3.pth')


def test_auto_scale_lr():
    assert _train_cfg(auto_scale_lr=True).auto_scale_lr.enable is True
    with pytest.raises(KeyError, match='auto_scale_lr'):
        _train_cfg(auto_scale_lr=True, cfg_options={'auto_scale_lr': None})


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU choices')
@pytest.mark.parametrize('native_bfloat16', [True, False])
def test_amp_on_a_cpu(native_bfloat16, monkeypatch):
    """--amp on a CPU: bfloat16 mixed precision where the CPU computes
    bfloat16 natively, else a clear error (it would be emulated, slower)."""
    monkeypatch.setattr(training, 'cpu_has_native_bfloat16', lambda: native_bfloat16)
    if native_bfloat16:
        assert _train_cfg(amp=True).optim_wrapper.type == 'BFloat16OptimWrapper'
    else:
        with pytest.raises(ValueError, match='--amp needs a CUDA GPU, or a CPU with native'):
            _train_cfg(amp=True)
