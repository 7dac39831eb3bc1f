"""Round trip of the demo config on a tiny demo KITTI set: the demo
pipeline (train, test, curves, predictions), then through the tools' entry
points: resume, test (with --out, --show-dir, --tta) and infer."""
import glob
import json
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch

from tests.tools.tool_module import load_tool
from yolo_plugin.apis import infer, list_images, load_detector
from yolo_plugin.apis.demo import MAP_KEY, TARGET_MAP, DemoSettings, run_demo
from yolo_plugin.apis.log_analysis import find_json_log, load_work_dir_log, plot_curves
from yolo_plugin.utils.checkpoint import load_from_local_safe

CONFIG = 'configs/yolov3_s_kitti_demo.py'


def tiny_options(root: str, max_epochs: int) -> dict:
    """Config overrides: the tiny data set, 2 iterations an epoch (8 train
    images, batch 4), no worker processes."""
    options = {'train_cfg.max_epochs': max_epochs, 'train_cfg.val_interval': 1,
               'default_hooks.checkpoint.interval': 1, 'default_hooks.logger.interval': 1,
               'train_dataloader.batch_size': 4}
    for split in ('train', 'val', 'test'):
        options.update({f'{split}_dataloader.dataset.data_root': f'{root}/',
                        f'{split}_dataloader.num_workers': 0,
                        f'{split}_dataloader.persistent_workers': False})
    return options


def overrides(root: str, max_epochs: int) -> list:
    """:func:`tiny_options` as ``--cfg-options`` arguments."""
    return ['--cfg-options', *(f'{k}={v}' for k, v in tiny_options(root, max_epochs).items())]


@pytest.fixture(scope='module')
def demo_run(demo_kitti_root, tmp_path_factory):
    """The demo pipeline for 1 epoch, then 1 more epoch resumed by
    tools/train.py."""
    work_dir = str(tmp_path_factory.mktemp('train'))
    torch.manual_seed(0)
    result = run_demo(DemoSettings(
        data_root=demo_kitti_root, work_dir=work_dir, num_train=8, num_val=4,
        num_predictions=2, cfg_options=tiny_options(demo_kitti_root, 1)))
    load_tool('train').main([CONFIG, '--work-dir', work_dir, '--resume',
                             *overrides(demo_kitti_root, 2)])
    return result


@pytest.fixture(scope='module')
def trained(demo_run) -> str:
    """The work dir of :func:`demo_run`."""
    return osp.dirname(demo_run.files['checkpoint'])


def test_demo_pipeline_leaves_its_files(demo_run):
    """The demo's metrics are the best checkpoint's (epoch 1) on the val
    split, as its validation logged them; the summary gives the verdict
    of that mAP against the target."""
    files = demo_run.files
    assert osp.basename(files['checkpoint']) == 'best_kitti_mAP_moderate_epoch_1.pth'
    assert 'coco/bbox_mAP' in demo_run.metrics
    with open(files['log']) as f:
        records = [json.loads(line) for line in f if line.strip()]
    validation, = [r for r in records if 'iter' not in r and r['step'] == 1]
    assert demo_run.metrics[MAP_KEY] == pytest.approx(validation[MAP_KEY], abs=1e-4)
    verdict = 'reached' if validation[MAP_KEY] >= TARGET_MAP else 'NOT reached'
    assert f'{validation[MAP_KEY]:.2f} %: target {TARGET_MAP:.0f} % {verdict};' in \
        demo_run.summary()
    with open(files['curves'], 'rb') as f:
        assert f.read(4) == b'\x89PNG'
    with open(osp.join(files['predictions'], 'detections.json')) as f:
        assert [r['file'] for r in json.load(f)['images']] == ['000008.png', '000009.png']
    assert osp.isfile(osp.join(files['predictions'], '000008.png'))
    summary = demo_run.summary()
    assert 'kitti/mAP_moderate' in summary and files['curves'] in summary


def test_training_resumes_from_the_latest_checkpoint(trained):
    meta = load_from_local_safe(osp.join(trained, 'epoch_2.pth'))['meta']
    assert (meta['epoch'], meta['iter']) == (2, 4)
    with open(osp.join(trained, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(trained, 'epoch_2.pth')
    resumed_log = sorted(glob.glob(osp.join(trained, '*', '*.log')))[-1]
    with open(resumed_log) as f:
        text = f.read()
    assert 'resumed epoch: 1, iter: 2' in text
    assert 'Epoch(train) [2][2/2]' in text and 'Epoch(train) [1]' not in text


def test_logs_hold_losses_throughput_and_both_metrics(trained, demo_run):
    # The resumed run writes a log of its own; the work dir's history joins
    # it to the first run's.
    assert find_json_log(trained) != demo_run.files['log']
    log = load_work_dir_log(trained)
    for key in ('loss', 'loss_cls', 'loss_obj', 'imgs_per_sec', 'compute_time', 'peak_mem_mb'):
        assert key in log.train
    for key in ('kitti/mAP_moderate', 'coco/bbox_mAP'):
        assert log.val[key][0] == [1, 2]  # both runs: the resumed one continues the log
    assert glob.glob(osp.join(trained, '*', 'vis_data', 'events.out.tfevents.*'))
    assert glob.glob(osp.join(trained, '*', 'vis_data', 'vis_image', '*.png'))
    out = plot_curves([log], ['loss_cls', 'loss_obj', 'kitti/mAP_moderate'],
                      osp.join(trained, 'curve.png'))
    assert osp.getsize(out) > 0


def test_test_tool_dumps_and_draws(trained, demo_kitti_root, tmp_path):
    checkpoint = osp.join(trained, 'epoch_2.pth')
    out = str(tmp_path / 'results.pkl')
    metrics = load_tool('test').main([CONFIG, checkpoint, '--work-dir', str(tmp_path),
                                      '--out', out, '--show-dir', 'show',
                                      *overrides(demo_kitti_root, 2)])
    assert 'kitti/mAP_moderate' in metrics and 'coco/bbox_mAP' in metrics
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4 and {'img_id', 'pred_instances'} <= set(results[0])
    assert len(glob.glob(str(tmp_path / '*' / 'show' / '*.png'))) == 4


def test_test_tool_with_tta(trained, demo_kitti_root, tmp_path):
    metrics = load_tool('test').main([CONFIG, osp.join(trained, 'epoch_2.pth'), '--tta',
                                      '--work-dir', str(tmp_path),
                                      *overrides(demo_kitti_root, 2)])
    assert 'kitti/mAP_moderate' in metrics


def test_inference_writes_images_and_json(trained, demo_kitti_root, tmp_path):
    model = load_detector(CONFIG, osp.join(trained, 'epoch_2.pth'))
    assert model.dataset_meta['classes'] == ('Car', 'Pedestrian', 'Cyclist')
    images = list_images(osp.join(demo_kitti_root, 'testing', 'image_2'))
    json_file = infer(model, images, str(tmp_path), score_thr=0.0, progress=False)
    with open(json_file) as f:
        detections = json.load(f)
    assert [r['file'] for r in detections['images']] == [osp.basename(p) for p in images]
    assert all(osp.isfile(tmp_path / osp.basename(p)) for p in images)
    for record in detections['images']:
        assert (record['width'], record['height']) == (621, 188)
        for det in record['detections']:
            assert det['class'] == detections['classes'][det['label']]
            x1, y1, x2, y2 = det['bbox']
            assert 0 <= x1 <= x2 <= 621 and 0 <= y1 <= y2 <= 188


def test_config_trains_as_mmdet_tools_do(demo_kitti_root, tmp_path):
    """What mmdet's tools/train.py does (Config.fromfile, Runner.from_cfg,
    train), in a fresh process that imports nothing of yolo_plugin itself:
    ``custom_imports`` and ``default_scope`` must suffice."""
    script = (
        'import sys\n'
        'from mmengine.config import Config\n'
        'from mmengine.runner import Runner\n'
        'cfg = Config.fromfile(sys.argv[1])\n'
        'cfg.merge_from_dict(eval(sys.argv[3]))\n'
        'cfg.work_dir = sys.argv[2]\n'
        'Runner.from_cfg(cfg).train()\n')
    options = dict(tiny_options(demo_kitti_root, 1), **{'train_cfg.val_interval': 2})
    done = subprocess.run([sys.executable, '-c', script, CONFIG, str(tmp_path), repr(options)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert osp.isfile(tmp_path / 'epoch_1.pth')


def test_tools_stop_on_config_errors_before_building_anything(tmp_path):
    """A misspelled field, a missing data root, a missing checkpoint: the
    tools exit with the listed problems and write nothing to the work dir."""
    bad = ['--cfg-options', 'model.neck.widen_facter=0.5',
           f'train_dataloader.dataset.data_root={tmp_path}/nowhere/',
           f'val_dataloader.dataset.data_root={tmp_path}/nowhere/']
    work_dir = tmp_path / 'work'
    with pytest.raises(SystemExit) as error:
        load_tool('train').main([CONFIG, '--work-dir', str(work_dir), *bad])
    message = str(error.value)
    assert 'model.neck.widen_facter' in message and "did you mean 'widen_factor'" in message
    assert not work_dir.exists()
    missing = str(tmp_path / 'none.pth')
    with pytest.raises(SystemExit) as error:
        load_tool('test').main([CONFIG, missing, '--work-dir', str(work_dir)])
    assert f"load_from: checkpoint '{missing}' does not exist" in str(error.value)
    assert not work_dir.exists()
