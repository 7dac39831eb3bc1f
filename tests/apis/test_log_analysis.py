"""Reading mmengine json logs and plotting their curves."""
import json
import os
import time

import pytest

from yolo_plugin.apis.log_analysis import (find_json_log, load_json_log, load_work_dir_log,
                                           plot_curves)

TRAIN = [dict(lr=0.01, loss=3.0 - i, loss_cls=1.0 / (i + 1), epoch=1, iter=5 * (i + 1),
              step=5 * (i + 1)) for i in range(3)]
VAL = [dict(**{'kitti/mAP_moderate': 12.5, 'imgs_per_sec': 40.0}, step=1)]


def write_log(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return str(path)


def test_training_and_validation_lines_split(tmp_path):
    log = load_json_log(write_log(tmp_path / 'a.json', TRAIN[:2] + VAL + TRAIN[2:]))
    assert log.train['loss'] == ([5, 10, 15], [3.0, 2.0, 1.0])
    assert log.val['kitti/mAP_moderate'] == ([1], [12.5])
    assert 'imgs_per_sec' in log.val and 'imgs_per_sec' not in log.train
    assert log.series('loss_cls')[0] == 'train'
    assert log.series('kitti/mAP_moderate')[0] == 'val'
    with pytest.raises(KeyError, match="no key 'nope'.*training keys"):
        log.series('nope')


def test_bad_line_named(tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(TRAIN[0]) + '\n{not json\n')
    with pytest.raises(ValueError, match=r'bad.json:2: not a json line'):
        load_json_log(str(path))


def test_find_json_log_takes_the_latest_written(tmp_path):
    with pytest.raises(FileNotFoundError, match='no json log'):
        find_json_log(str(tmp_path))
    old = write_log(tmp_path / '20240101_000000' / 'vis_data' / 'scalars.json', TRAIN)
    new = write_log(tmp_path / '20230101_000000' / 'vis_data' / 'scalars.json', TRAIN)
    os.utime(old, (time.time() - 100, time.time() - 100))
    assert find_json_log(str(tmp_path)) == new


def test_work_dir_log_joins_a_resumed_run(tmp_path):
    """A run logged iterations 5, 10, 15 and epoch 1, was killed and resumed
    from the checkpoint of iteration 10: the resumed run's log (a folder of
    its own) starts at iteration 15 again and holds epoch 2. Joined, every
    step once, the later run's values from its first step on."""
    first = write_log(tmp_path / '20240101_000000' / 'vis_data' / 'scalars.json', TRAIN + VAL)
    resumed_train = [dict(loss=0.5 - 0.1 * i, iter=15 + 5 * i, step=15 + 5 * i)
                     for i in range(2)]
    resumed_val = [dict(**{'kitti/mAP_moderate': 20.0}, step=2)]
    second = write_log(tmp_path / '20240101_010000' / 'vis_data' / 'scalars.json',
                       resumed_train + resumed_val)
    os.utime(first, (time.time() - 100, time.time() - 100))
    log = load_work_dir_log(str(tmp_path))
    assert log.train['loss'] == ([5, 10, 15, 20], [3.0, 2.0, 0.5, 0.4])
    assert log.train['loss_cls'] == ([5, 10, 15], [1.0, 0.5, 1.0 / 3])  # not logged again
    assert log.val['kitti/mAP_moderate'] == ([1, 2], [12.5, 20.0])
    assert load_json_log(second).train['loss'][0] == [15, 20]


def test_plot_curves_writes_an_image(tmp_path):
    logs = [load_json_log(write_log(tmp_path / name, TRAIN + VAL)) for name in ('a.json', 'b.json')]
    out = plot_curves(logs, ['loss_cls', 'kitti/mAP_moderate'], str(tmp_path / 'out' / 'c.png'),
                      title='t')
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(ValueError, match='at least one key'):
        plot_curves(logs, [], str(tmp_path / 'd.png'))
