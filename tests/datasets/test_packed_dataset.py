"""The packed cache: same samples as the raw files, resumable packing,
clear refusals."""
import os
import os.path as osp
import random
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config

from yolo_plugin.datasets import (BadSampleError, KittiDataset,
                                  LoadImageFromPackOrFile, PackedImageFile,
                                  write_pack)
from yolo_plugin.datasets import packed as packed_module

CONFIGS = Path(__file__).parents[2] / 'configs' / '_base_' / 'datasets'


def kitti_pipelines():
    cfg = Config.fromfile(str(CONFIGS / 'kitti.py'))
    return cfg.train_pipeline, cfg.test_pipeline


def demo_train(root, **kwargs):
    return KittiDataset(data_root=root, split='train', **kwargs)


def assert_same_samples(raw, packed):
    assert len(raw) == len(packed)
    for index in range(len(raw)):
        outputs = []
        for dataset in (raw, packed):
            random.seed(index)
            np.random.seed(index)
            outputs.append(dataset[index])
        a, b = outputs
        assert torch.equal(a['inputs'], b['inputs'])
        sa, sb = a['data_samples'], b['data_samples']
        assert sa.metainfo == sb.metainfo  # incl. instances, img_path
        for field in ('gt_instances', 'ignored_instances'):
            ia, ib = sa.get(field), sb.get(field)
            assert torch.equal(ia.bboxes.tensor, ib.bboxes.tensor)
            assert torch.equal(ia.labels, ib.labels)


@pytest.fixture(scope='module')
def kitti_train_pack(demo_kitti_root, tmp_path_factory):
    dataset = demo_train(demo_kitti_root)
    out = str(tmp_path_factory.mktemp('packs') / 'train.pack')
    return write_pack(dataset, out, show_progress=False)


@pytest.mark.parametrize('pipeline_index', [0, 1])
def test_packed_gives_the_same_samples(demo_kitti_root, kitti_train_pack,
                                       pipeline_index):
    pipeline = kitti_pipelines()[pipeline_index]
    test_mode = pipeline_index == 1
    raw = demo_train(demo_kitti_root, pipeline=pipeline, test_mode=test_mode)
    packed = demo_train(
        demo_kitti_root,
        pipeline=pipeline,
        test_mode=test_mode,
        packed_file=kitti_train_pack)
    assert packed.get_data_info(3)['packed_image']['file'] == kitti_train_pack
    assert_same_samples(raw, packed)


def test_packed_images_need_no_image_files(demo_kitti_root, tmp_path):
    """The pack alone serves the samples (the raw folder may be gone)."""
    dataset = KittiDataset(data_root=demo_kitti_root, split='val')
    pack = write_pack(dataset, str(tmp_path / 'val.pack'), show_progress=False)
    loaded = KittiDataset(
        data_root=str(tmp_path / 'nowhere'),
        split='val',
        packed_file=pack,
        pipeline=[dict(type='LoadImageFromPackOrFile')])
    for index in range(len(dataset)):
        expected = mmcv.imread(dataset.get_data_info(index)['img_path'])
        assert np.array_equal(loaded[index]['img'], expected)
    assert PackedImageFile(pack).num_skipped == 0


def test_interrupted_packing_resumes_to_the_same_file(demo_kitti_root,
                                                      kitti_train_pack,
                                                      tmp_path, monkeypatch):
    dataset = demo_train(demo_kitti_root)
    out = str(tmp_path / 'train.pack')
    pack_one = packed_module._pack_one
    calls = []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return pack_one(*args)

    monkeypatch.setattr(packed_module, '_pack_one', interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_pack(dataset, out, show_progress=False)
    assert not osp.exists(out) and osp.exists(out + '.partial')
    # A run cut while writing its journal leaves half a line behind.
    with open(out + '.partial.jsonl', 'a') as f:
        f.write('{"shape": [18')
    calls.clear()
    monkeypatch.setattr(packed_module, '_pack_one', pack_one)
    write_pack(dataset, out, show_progress=False)
    assert open(out, 'rb').read() == open(kitti_train_pack, 'rb').read()
    assert sorted(os.listdir(tmp_path)) == ['train.pack']


def test_leftovers_of_another_packing_are_not_resumed(demo_kitti_root,
                                                      kitti_train_pack,
                                                      tmp_path):
    dataset = demo_train(demo_kitti_root)
    out = str(tmp_path / 'train.pack')
    write_pack(dataset, out, resize=(320, 96), show_progress=False)
    os.rename(out, out + '.partial')  # a partial file of other settings
    with open(out + '.partial.jsonl', 'w') as f:
        f.write('{"other": 1}\n')
    write_pack(dataset, out, show_progress=False)
    assert open(out, 'rb').read() == open(kitti_train_pack, 'rb').read()


def test_pre_resized_pack_serves_training_only(demo_kitti_root, tmp_path):
    dataset = demo_train(demo_kitti_root)
    out = write_pack(
        dataset, str(tmp_path / 'small.pack'), resize=(320, 320),
        show_progress=False)
    pipeline = [
        dict(type='LoadImageFromPackOrFile'),
        dict(type='LoadAnnotations', with_bbox=True)
    ]
    packed = demo_train(demo_kitti_root, packed_file=out, pipeline=pipeline)
    raw = demo_train(demo_kitti_root, pipeline=pipeline)
    sample, reference = packed[0], raw[0]
    expected = mmcv.imrescale(reference['img'], (320, 320))
    assert np.array_equal(sample['img'], expected)
    assert expected.shape == (97, 320, 3)  # 621 x 188 fitted into 320
    scale = np.array([320 / 621, 97 / 188] * 2)
    np.testing.assert_allclose(
        sample['gt_bboxes'].tensor.numpy(),
        reference['gt_bboxes'].tensor.numpy() * scale,
        rtol=1e-5)
    assert (sample['width'], sample['height']) == (320, 97)
    with pytest.raises(ValueError, match='serve training only'):
        demo_train(demo_kitti_root, packed_file=out, test_mode=True)


def test_pack_of_another_selection_is_refused(demo_kitti_root,
                                              kitti_train_pack):
    with pytest.raises(ValueError, match=r"differing: \['split'\]"):
        KittiDataset(
            data_root=demo_kitti_root, split='val',
            packed_file=kitti_train_pack)
    with pytest.raises(ValueError, match=r"differing: \['class_map'\]"):
        demo_train(
            demo_kitti_root,
            class_map={'Van': 'Car'},
            packed_file=kitti_train_pack)


def test_file_loader_reads_the_pack(demo_kitti_root, kitti_train_pack,
                                   tmp_path):
    """mmcv's LoadImageFromFile (the test pipelines' loader) is replaced by
    LoadImageFromPackOrFile: the images come from the pack."""
    backend_args = dict(backend='local')
    packed = KittiDataset(
        data_root=str(tmp_path / 'nowhere'), split='train',
        packed_file=kitti_train_pack,
        pipeline=[dict(type='LoadImageFromFile', backend_args=backend_args)])
    loader = packed.pipeline.transforms[0]
    assert isinstance(loader, LoadImageFromPackOrFile)
    assert loader.backend_args == backend_args
    expected = mmcv.imread(
        osp.join(demo_kitti_root, 'training', 'image_2', '000003.png'))
    assert np.array_equal(packed[3]['img'], expected)
    raw = demo_train(demo_kitti_root, pipeline=[dict(type='LoadImageFromFile')])
    assert type(raw.pipeline.transforms[0]) is LoadImageFromFile


@pytest.mark.parametrize('loader', [
    dict(type='LoadImageFromFile', to_float32=True),
    dict(type='LoadImageFromFile', color_type='grayscale'),
    dict(type='mmdet.LoadImageFromNDArray'),
])
def test_loader_decoding_otherwise_than_the_pack_is_refused(
        demo_kitti_root, kitti_train_pack, loader):
    with pytest.raises(ValueError, match='cannot read it: load with '
                       'LoadImageFromPackOrFile'):
        demo_train(demo_kitti_root, packed_file=kitti_train_pack,
                   pipeline=[loader])


def test_not_a_pack_file(tmp_path):
    path = tmp_path / 'x.pack'
    path.write_bytes(b'PNG' * 20)
    with pytest.raises(ValueError, match='not a yolo_plugin pack file'):
        PackedImageFile(str(path))
    with pytest.raises(FileNotFoundError, match='packed file not found'):
        PackedImageFile(str(tmp_path / 'missing.pack'))


def test_undecodable_image_when_packing(kitti_root, tmp_path):
    image = osp.join(kitti_root, 'training/image_2/000000.png')
    data = open(image, 'rb').read()
    with open(image, 'wb') as f:
        f.write(data[:len(data) // 2])
    strict = KittiDataset(data_root=kitti_root, split='train')
    with pytest.raises(BadSampleError, match='000000.png: cannot decode'):
        write_pack(strict, str(tmp_path / 'a.pack'), show_progress=False)
    lenient = KittiDataset(
        data_root=kitti_root, split='train', on_bad_sample='skip')
    pack = PackedImageFile(
        write_pack(lenient, str(tmp_path / 'b.pack'), show_progress=False))
    assert pack.num_skipped == 1
    assert [s['data_info']['img_id'] for s in pack.samples] == [2]
