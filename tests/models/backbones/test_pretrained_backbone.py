"""The paper's ImageNet start (issue 16): the KITTI and Cityscapes configs
initialise the backbone from mmdet's Darknet-53 (``open-mmlab://darknet53``,
mmdet's module names), which our Darknet53 renames on every loading path,
filling every tensor; offline, training stops before the Runner is built and
names both ways on.

Nothing is downloaded: mmdet's file is stood in for by a randomised mmdet
``Darknet``, put into a temporary torch hub cache, and the downloader fails.
"""
import os.path as osp
import shutil
import urllib.error

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.utils import register_all_modules as register_mmdet_modules
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

import yolo_plugin.models.backbones.darknet as darknet_module
from tests.converters.conftest import REPO
from tests.tools.tool_module import load_tool
from yolo_plugin.apis import build_detector
from yolo_plugin.converters import convert_mmdet_key
from yolo_plugin.models.backbones import Darknet53

DARKNET53_URL = 'open-mmlab://darknet53'
DARKNET53_FILE = 'darknet53-a628ea1b.pth'  # its file name in mmengine's table
LEAF_CONFIGS = ('yolov3_kitti.py', 'yolov3_cityscapes.py')
IMAGES = (2, 3, 64, 96)


def randomise(model: nn.Module, generator: torch.Generator) -> None:
    """Random weights and BN statistics that keep activations finite
    through the 52 layers (He-scaled convs, BN gains below one), and a BN
    step counter no fresh model has."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0, (2 / fan_in)**0.5, generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.2, 0.6, generator=generator)
                module.bias.normal_(0, 0.1, generator=generator)
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                module.num_batches_tracked.fill_(1234)


@pytest.fixture(scope='module')
def mmdet_darknet() -> nn.Module:
    """mmdet's Darknet-53 (C3, C4, C5), randomised, in eval mode."""
    register_mmdet_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MMDET_MODELS.build(dict(type='Darknet', depth=53, out_indices=(3, 4, 5)))
    randomise(model, torch.Generator().manual_seed(0))
    model.eval()  # mmdet's Darknet.train returns None
    return model


@pytest.fixture(scope='module')
def mmdet_files(mmdet_darknet, tmp_path_factory) -> dict:
    """mmdet's state dict saved as it is (``plain``) and wrapped as
    ``{'state_dict': ...}`` (``wrapped``), under the name of mmdet's file."""
    files = {}
    for layout in ('plain', 'wrapped'):
        path = tmp_path_factory.mktemp(layout) / DARKNET53_FILE
        state_dict = mmdet_darknet.state_dict()
        torch.save(state_dict if layout == 'plain' else dict(state_dict=state_dict), path)
        files[layout] = str(path)
    return files


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> str:
    """An empty torch hub checkpoint cache of this test alone, and a
    downloader that fails as it does offline."""

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError(f'offline test, no download of {url}')

    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    folder = tmp_path / 'torch' / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    return str(folder)


def assert_holds_mmdet_weights(backbone: nn.Module, mmdet_darknet: nn.Module) -> None:
    """Every tensor of ``backbone`` equals mmdet's under the renaming, so a
    load that skipped anything fails (a fresh backbone differs everywhere)."""
    expected = {convert_mmdet_key(f'backbone.{key}')[len('backbone.'):]: value
                for key, value in mmdet_darknet.state_dict().items()}
    actual = backbone.state_dict()
    assert actual.keys() == expected.keys()
    unequal = [key for key in actual if not torch.equal(actual[key], expected[key])]
    assert unequal == []


@pytest.fixture
def logged(monkeypatch) -> list:
    """The messages the backbone logs."""
    messages = []
    monkeypatch.setattr(darknet_module, 'print_log',
                        lambda message, **kwargs: messages.append(message))
    return messages


@pytest.mark.parametrize('layout', ['plain', 'wrapped'])
def test_pretrained_init_cfg_with_a_local_file(layout, mmdet_files, mmdet_darknet, logged):
    backbone = Darknet53(init_cfg=dict(type='Pretrained', checkpoint=mmdet_files[layout]))
    backbone.init_weights()
    assert_holds_mmdet_weights(backbone, mmdet_darknet)
    assert logged == ["Darknet53: renamed 312 tensors from mmdet's Darknet names (conv1, "
                      'conv_res_block{i}.conv, conv_res_block{i}.res{j}) to ours (stem, '
                      'stage{i}.0, stage{i}.{j+1})']


@pytest.mark.parametrize('config', LEAF_CONFIGS)
def test_configs_start_from_open_mmlab_darknet53_in_the_hub_cache(config, mmdet_files,
                                                                   mmdet_darknet, hub_cache):
    """The config's own init_cfg, through mmengine's open-mmlab table and
    torch.hub's cache (found by the URL's file name, no download)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=DARKNET53_URL)
    shutil.copy(mmdet_files['plain'], hub_cache)
    detector = build_detector(cfg)
    detector.init_weights()
    assert_holds_mmdet_weights(detector.backbone, mmdet_darknet)


def test_load_checkpoint_gives_mmdets_features(mmdet_files, mmdet_darknet):
    """Same weights, same C3, C4, C5 as mmdet's Darknet (eval mode), loaded
    strictly by mmengine's load_checkpoint."""
    backbone = Darknet53()
    load_checkpoint(backbone, mmdet_files['wrapped'], map_location='cpu', strict=True)
    images = torch.rand(IMAGES, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = backbone.eval()(images), mmdet_darknet(images)
    assert [o.shape for o in ours] == [t.shape for t in theirs]
    for our_map, their_map in zip(ours, theirs):
        assert their_map.std() > 0.1
        torch.testing.assert_close(our_map, their_map, rtol=1e-4, atol=1e-4 * their_map.std())


def test_detector_checkpoint_in_mmdet_names_loads_its_backbone(mmdet_darknet, tmp_path,
                                                               logged):
    """As ``load_from`` loads (mmdet's YOLOv3 keys: the backbone under
    ``backbone.``)."""
    state_dict = {f'backbone.{key}': value for key, value in mmdet_darknet.state_dict().items()}
    torch.save(dict(state_dict=state_dict), tmp_path / 'mmdet_yolov3.pth')
    detector = build_detector(Config.fromfile(osp.join(REPO, 'configs', 'yolov3_kitti.py')))
    load_checkpoint(detector, str(tmp_path / 'mmdet_yolov3.pth'), map_location='cpu')
    assert_holds_mmdet_weights(detector.backbone, mmdet_darknet)
    assert logged[0].startswith("Darknet53: renamed 312 tensors under 'backbone.' from mmdet's")


def test_weights_that_do_not_fit_are_an_error(mmdet_files):
    """mmengine loads pretrained weights non-strictly; a narrower backbone
    would keep its own weights with only a warning."""
    backbone = Darknet53(widen_factor=0.5, deepen_factor=0.33,
                         init_cfg=dict(type='Pretrained', checkpoint=mmdet_files['plain']))
    with pytest.raises(ValueError) as error:
        backbone.init_weights()
    message = str(error.value)
    # 24 convs (the stem, 5 stride-2 convs, 9 blocks of 2), 5 tensors each
    assert message.startswith('Darknet53 (widen_factor=0.5, deepen_factor=0.33): the weights '
                              "in mmdet's Darknet naming do not fit: 0 tensors missing [], "
                              '120 of another shape')
    assert "'stem.conv.weight (32, 3, 3, 3) given, (16, 3, 3, 3) here'" in message
    assert 'model.backbone.init_cfg=None' in message


def test_offline_training_stops_before_the_runner(demo_kitti_root, hub_cache, tmp_path,
                                                  monkeypatch):
    """tools/train.py's entry point on the KITTI config, nothing in the hub
    cache and no network: the config check stops it, naming the key and
    both remedies; no Runner is built, no work dir made."""

    def no_runner(cfg):
        raise AssertionError('the Runner must not be built')

    train_tool = load_tool('train')
    monkeypatch.setattr(train_tool, 'build_runner', no_runner)
    work_dir = tmp_path / 'work'
    data = [f'{split}_dataloader.dataset.data_root={demo_kitti_root}/'
            for split in ('train', 'val', 'test')]
    with pytest.raises(SystemExit) as error:
        train_tool.main([osp.join(REPO, 'configs', 'yolov3_kitti.py'), '--work-dir',
                         str(work_dir), '--cfg-options', *data])
    header, problem = str(error.value).split('\n  - ')
    assert header.endswith('1 problem(s) in the config '
                           f"{osp.join(REPO, 'configs', 'yolov3_kitti.py')}:")
    assert problem.startswith(f'model.backbone.init_cfg.checkpoint: {DARKNET53_FILE} is not in '
                              f'the torch hub cache {hub_cache} and downloading https://')
    assert 'URLError' in problem
    assert ('python tools/convert_darknet_weights.py darknet53.conv.74 '
            'checkpoints/darknet53_imagenet.pth') in problem
    assert '--cfg-options model.backbone.init_cfg=None' in problem
    assert not work_dir.exists()
