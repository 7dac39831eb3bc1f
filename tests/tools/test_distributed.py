"""Two training processes on the CPU under torchrun (gloo): one epoch of
the demo config on the tiny demo set, then validation gathered across
both."""
import glob
import os
import os.path as osp
import subprocess
import sys

from tests.tools.test_train import CONFIG, overrides
from yolo_plugin.utils.checkpoint import load_from_local_safe


def test_torchrun_two_processes(demo_kitti_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    command = [
        sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
        'tools/train.py', CONFIG, '--launcher', 'pytorch', '--work-dir', work_dir,
        *overrides(demo_kitti_root, 1), 'train_dataloader.batch_size=2'
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(glob.glob(osp.join(work_dir, '*', '*.log'))[0]) as f:
        log = f.read()
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    # DefaultSampler splits the 8 images: 4 a process, 2 batches of 2 each;
    # one process alone would take the same 8 in 4 batches.
    assert 'Epoch(train) [1][2/2]' in log and '[1][3/' not in log
    assert "'backend': 'gloo'" in log or "backend='gloo'" in log
    assert 'kitti/mAP_moderate' in log
    meta = load_from_local_safe(osp.join(work_dir, 'epoch_1.pth'))['meta']
    assert (meta['epoch'], meta['iter']) == (1, 2)
