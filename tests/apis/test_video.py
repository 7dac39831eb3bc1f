"""Video and frame-sequence inference (``tools/infer.py``, PyTorch backend;
the ONNX Runtime one: tests/deploy/test_backend.py): the frames read in
order, every frame's detections those of the test pipeline and the model on
its image file, and the annotated video written."""
import json
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch

from tests.deploy.pytorch_reference import (DEMO_CONFIG, count_matched, demo_config,
                                            load_demo_model, pipeline_detections,
                                            random_demo_model)
from yolo_plugin.apis.video import open_frames, sequence_frame_files

SCORE_THR = 0.2


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('video') / 'random_demo.pth'
    torch.save(dict(state_dict=random_demo_model().state_dict()), path)
    return str(path)


def write_frames(folder, demo_kitti_root: str, count: int) -> list:
    """The first ``count`` demo train frames (621 x 188) as ``folder/%010d.png``."""
    folder.mkdir(parents=True)
    with open(f'{demo_kitti_root}/ImageSets/train.txt') as f:
        ids = f.read().split()[:count]
    paths = []
    for index, id_ in enumerate(ids):
        paths.append(str(folder / f'{index:010d}.png'))
        cv2.imwrite(paths[-1], cv2.imread(f'{demo_kitti_root}/training/image_2/{id_}.png'))
    return paths


def test_sequence_frame_files(tmp_path):
    """A KITTI raw drive: its image_02/data/ (not the other cameras);
    Cityscapes sequence names sort by sequence, then frame."""
    drive = tmp_path / '2011_09_26_drive_0001_sync'
    for camera in ('image_00', 'image_02'):
        (drive / camera / 'data').mkdir(parents=True)
        for index in (1, 0, 10):
            (drive / camera / 'data' / f'{index:010d}.png').write_bytes(b'')
    assert sequence_frame_files(str(drive)) == [
        str(drive / 'image_02' / 'data' / f'{index:010d}.png') for index in (0, 1, 10)]
    city = tmp_path / 'leftImg8bit_sequence' / 'val' / 'frankfurt'
    city.mkdir(parents=True)
    names = [f'frankfurt_{seq:06d}_{frame:06d}_leftImg8bit.png'
             for seq, frame in ((1, 29), (0, 30), (0, 29), (1, 30))]
    for name in names:
        (city / name).write_bytes(b'')
    assert [path.split('/')[-1] for path in sequence_frame_files(str(city))] == sorted(names)


def test_video_frames_and_fps(tmp_path):
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 7, (64, 32))
    for value in (0, 100, 200):
        writer.write(np.full((32, 64, 3), value, np.uint8))
    writer.release()
    source = open_frames(video)
    frames = list(source.frames)
    assert (source.count, source.fps, len(frames)) == (3, 7, 3)
    assert [int(frame.mean().round(-1)) for frame in frames] == [0, 100, 200]
    with pytest.raises(FileNotFoundError, match='OpenCV cannot open the video'):
        open_frames(str(tmp_path / 'missing.mp4'))


def test_infer_tool_on_a_kitti_raw_drive(monkeypatch, capsys, checkpoint, demo_kitti_root,
                                         tmp_path):
    drive = tmp_path / '2011_09_26_drive_0001_sync'
    paths = write_frames(drive / 'image_02' / 'data', demo_kitti_root, 5)
    monkeypatch.setattr(sys, 'argv', [
        'tools/infer.py', DEMO_CONFIG, checkpoint, str(drive), '--sequence', '--out-dir',
        str(tmp_path / 'out'), '--score-thr', str(SCORE_THR), '--batch-size', '2'])
    runpy.run_path('tools/infer.py', run_name='__main__')
    assert '5 frames' in capsys.readouterr().out
    with open(tmp_path / 'out' / 'detections.json') as f:
        frames = json.load(f)['frames']
    expected = pipeline_detections(load_demo_model(checkpoint), demo_config(), paths)
    assert [record['frame'] for record in frames] == list(range(5))
    for record, reference in zip(frames, expected):
        dets = record['detections']
        actual = dict(boxes=np.array([d['bbox'] for d in dets], np.float32).reshape(-1, 4),
                      scores=np.array([d['score'] for d in dets], np.float32),
                      labels=np.array([d['label'] for d in dets], np.int64))
        keep = reference['scores'] >= SCORE_THR
        assert keep.sum() > 0
        assert count_matched({key: value[keep] for key, value in reference.items()},
                             actual, 0.99, 1e-3) == (int(keep.sum()), ) * 2
    video = cv2.VideoCapture(str(tmp_path / 'out' / f'{drive.name}.mp4'))
    assert video.get(cv2.CAP_PROP_FPS) == 10
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    ok, frame = video.read()
    assert frame.shape == (188, 622, 3)  # 621 wide, padded to an even width
    # the boxes are drawn: the frame differs from the plain image
    assert np.abs(frame[:, :621].astype(int) - cv2.imread(paths[0])).mean() > 1
