"""Config checks before training: each kind of mistake stops with a message
naming the config key (and the path or class), and every config of
configs/ passes. Nothing is downloaded: each test has an empty torch hub
cache and a downloader that fails as it does offline."""
import inspect
import os
import shutil
import urllib.error
from pathlib import Path
from types import SimpleNamespace

import mmcv
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from yolo_plugin.models.task_modules import YOLOBoxCoder
from yolo_plugin.apis import ConfigError, check_config
from yolo_plugin.registry import HOOKS, MODELS

CONFIGS = Path(__file__).parents[2] / 'configs'
ALL_CONFIGS = sorted(
    str(path.relative_to(CONFIGS)) for path in CONFIGS.rglob('*.py'))
DEMO_CONFIG = 'yolov3_s_kitti_demo.py'
SPLITS = ('train', 'val', 'test')
DARKNET53_URL = ('https://download.openmmlab.com/pretrain/third_party/'
                 'darknet53-a628ea1b.pth')  # open-mmlab://darknet53


def offline_download(url, dst, *args, **kwargs):
    raise urllib.error.URLError('offline')


@pytest.fixture(autouse=True)
def hub_cache(tmp_path_factory, monkeypatch) -> Path:
    """The torch hub checkpoint folder of a fresh, empty cache; downloads
    fail."""
    torch_home = tmp_path_factory.mktemp('torch_home')
    monkeypatch.setenv('TORCH_HOME', str(torch_home))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline_download)
    return torch_home / 'hub' / 'checkpoints'


@pytest.fixture
def cached_darknet53(hub_cache) -> None:
    """mmdet's ImageNet Darknet-53 in the cache (a stand-in: the check
    looks for the file and reads nothing)."""
    hub_cache.mkdir(parents=True)
    (hub_cache / os.path.basename(DARKNET53_URL)).write_bytes(b'')


def load(name: str, data_root=None) -> Config:
    """A config of configs/, its data sets pointed at ``data_root``."""
    cfg = Config.fromfile(str(CONFIGS / name))
    if data_root is not None:
        for split in SPLITS:
            if f'{split}_dataloader' in cfg:
                cfg[f'{split}_dataloader'].dataset.data_root = data_root
    return cfg


def problems_of(cfg: Config, data_splits=()) -> list:
    with pytest.raises(ConfigError) as info:
        check_config(cfg, data_splits)
    assert str(info.value).count('\n  - ') == len(info.value.problems)
    return info.value.problems


def trains_on_kitti(name: str) -> bool:
    loader = load(name).get('train_dataloader', {})
    return loader.get('dataset', {}).get('type') == 'KittiDataset'


KITTI_CONFIGS = [name for name in ALL_CONFIGS if trains_on_kitti(name)]


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_every_config_passes_the_static_checks(name):
    assert check_config(load(name), data_splits=()) == []


@pytest.mark.usefixtures('cached_darknet53')
@pytest.mark.parametrize('name', KITTI_CONFIGS)
def test_every_kitti_config_passes_with_demo_data(name, demo_kitti_root):
    assert check_config(load(name, demo_kitti_root), SPLITS) == []


# (config key path, wrong value) -> the exact problem line.
WRONG_TYPES = {
    ('model.backbone', 'Darknet35'):
    "model.backbone.type: 'Darknet35' is not a registered model; did you "
    "mean 'Darknet53'?",
    ('model.bbox_head.prior_generator', 'YOLOPriorGenerater'):
    "model.bbox_head.prior_generator.type: 'YOLOPriorGenerater' is not a "
    "registered task util; did you mean 'YOLOPriorGenerator'?",
    ('model.bbox_head.loss_cls', 'SigmoidBCELos'):
    "model.bbox_head.loss_cls.type: 'SigmoidBCELos' is not a registered "
    "model; did you mean 'SigmoidBCELoss'?",
    ('model.train_cfg.assigner', 'YOLOAnchorAsigner'):
    "model.train_cfg.assigner.type: 'YOLOAnchorAsigner' is not a "
    "registered task util; did you mean 'YOLOAnchorAssigner'?",
    ('train_dataloader.dataset', 'KittiDatset'):
    "train_dataloader.dataset.type: 'KittiDatset' is not a registered "
    "dataset; did you mean 'KittiDataset'?",
    ('train_dataloader.dataset.pipeline[3]', 'MinIoURandomCrp'):
    "train_dataloader.dataset.pipeline[3].type: 'MinIoURandomCrp' is not a "
    "registered transform; did you mean 'MinIoURandomCrop'?",
    ('train_dataloader.sampler', 'DefaultSampeler'):
    "train_dataloader.sampler.type: 'DefaultSampeler' is not a registered "
    "data sampler; did you mean 'DefaultSampler'?",
    ('default_hooks.nan_guard', 'NaNGuardHok'):
    "default_hooks.nan_guard.type: 'NaNGuardHok' is not a registered hook; did you "
    "mean 'NaNGuardHook'?",
    ('optim_wrapper.optimizer', 'SDG'):
    "optim_wrapper.optimizer.type: 'SDG' is not a registered optimizer; did "
    "you mean 'SGD'?",
    ('param_scheduler[1]', 'MultiStepLr'):
    "param_scheduler[1].type: 'MultiStepLr' is not a registered parameter "
    "scheduler; did you mean 'MultiStepLR'?",
    ('visualizer.vis_backends[1]', 'TensorboardVisBackand'):
    "visualizer.vis_backends[1].type: 'TensorboardVisBackand' is not a "
    "registered vis_backend; did you mean 'TensorboardVisBackend'?",
    ('train_cfg', 'EpochBaseTrainLoop'):
    "train_cfg.type: 'EpochBaseTrainLoop' is not a registered loop; did you "
    "mean 'EpochBasedTrainLoop'?",
    ('model.bbox_head', 'NoSuchThingAtAll'):
    "model.bbox_head.type: 'NoSuchThingAtAll' is not a registered model",
}
# (config key path, wrong key) -> the exact problem line.
WRONG_KEYS = {
    ('model.backbone', 'widen_facter'):
    "model.backbone.widen_facter: Darknet53 has no argument 'widen_facter'; "
    "did you mean 'widen_factor'?",
    ('model.train_cfg.assigner', 'ignore_iou_thresh'):
    "model.train_cfg.assigner.ignore_iou_thresh: YOLOAnchorAssigner has no "
    "argument 'ignore_iou_thresh'; did you mean 'ignore_iou_thr'?",
    ('train_dataloader.dataset', 'data_roots'):
    "train_dataloader.dataset.data_roots: KittiDataset has no argument "
    "'data_roots'; did you mean 'data_root'?",
    ('train_dataloader', 'batch_sise'):
    "train_dataloader.batch_sise: DataLoader has no argument 'batch_sise'; "
    "did you mean 'batch_size'?",
    ('default_hooks.logger', 'intreval'):
    "default_hooks.logger.intreval: LoggerHook has no argument 'intreval'; "
    "did you mean 'interval'?",
    ('optim_wrapper.optimizer', 'momentun'):
    "optim_wrapper.optimizer.momentun: SGD has no argument 'momentun'; did "
    "you mean 'momentum'?",
    ('param_scheduler[0]', 'start_facter'):
    "param_scheduler[0].start_facter: LinearLR has no argument "
    "'start_facter'; did you mean 'start_factor'?",
    # EMAHook passes its **kwargs to the ExpMomentumEMA it builds.
    ('default_hooks.ema', 'momentom'):
    "default_hooks.ema.momentom: EMAHook has no argument 'momentom'; did you "
    "mean 'momentum'?",
}


def _node(cfg: Config, path: str):
    node = cfg
    for part in path.replace('[', '.[').split('.'):
        node = node[int(part[1:-1])] if part.startswith('[') else node[part]
    return node


@pytest.mark.parametrize('case', list(WRONG_TYPES))
def test_unknown_type_names_the_key_and_a_close_match(case):
    path, wrong = case
    cfg = load('yolov3_kitti.py')
    _node(cfg, path).type = wrong
    assert WRONG_TYPES[case] in problems_of(cfg)


@pytest.mark.parametrize('case', list(WRONG_KEYS))
def test_misspelled_field_names_the_key_and_a_close_match(case):
    path, wrong = case
    cfg = load('yolov3_kitti.py')
    _node(cfg, path)[wrong] = 1
    assert problems_of(cfg) == [WRONG_KEYS[case]]


def test_without_a_close_match_the_arguments_are_listed():
    cfg = load('yolov3_kitti.py')
    cfg.model.bbox_head.bbox_coder.zzz = 1
    arguments = sorted(inspect.signature(YOLOBoxCoder).parameters)
    assert problems_of(cfg) == [
        "model.bbox_head.bbox_coder.zzz: YOLOBoxCoder has no argument 'zzz' "
        f"(its arguments: {', '.join(arguments)})"
    ]


def test_keys_the_builders_take_out_are_accepted():
    cfg = load('yolov3_kitti.py')
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=False)
    cfg.model.backbone.init_cfg = dict(
        type='Kaiming',
        layer='Conv2d',
        override=dict(type='Normal', name='stem', std=0.01))
    cfg.optim_wrapper.paramwise_cfg = dict(norm_decay_mult=0.0)
    cfg.optim_wrapper.constructor = 'DefaultOptimWrapperConstructor'
    cfg.default_hooks.throughput.priority = 'LOW'
    assert check_config(cfg, data_splits=()) == []
    cfg.model.backbone.norm_cfg.requires_grads = False
    cfg.optim_wrapper.constructor = 'DefaultOptimWraperConstructor'
    assert problems_of(cfg) == [
        'model.backbone.norm_cfg.requires_grads: BatchNorm2d has no argument '
        "'requires_grads'; did you mean 'requires_grad'?",
        "optim_wrapper.constructor: 'DefaultOptimWraperConstructor' is not a "
        'registered optimizer wrapper constructor; did you mean '
        "'DefaultOptimWrapperConstructor'?"
    ]


def test_misspelled_runner_key_would_be_ignored():
    cfg = load('yolov3_kitti.py')
    cfg.optim_wraper = dict(optimizer=dict(lr=0.1))
    assert problems_of(cfg) == [
        'optim_wraper: not a key the Runner reads, so it would be ignored; '
        "did you mean 'optim_wrapper'?"
    ]


def test_missing_type():
    cfg = load('yolov3_kitti.py')
    cfg.custom_hooks.append(dict(type='NaNGuardHook'))
    cfg.custom_hooks.append(dict(priority='LOW'))
    assert problems_of(cfg) == ["custom_hooks[1]: no 'type' (which hook to "
                                'build?)']


def test_every_problem_is_listed_at_once():
    cfg = load('yolov3_kitti.py')
    cfg.model.backbone.type = 'Darknet35'
    cfg.model.neck.widen_facter = 0.5
    cfg.val_evaluator[0].type = 'KittiMetrik'
    problems = problems_of(cfg)
    assert [p.split(':')[0] for p in problems] == [
        'model.backbone.type', 'model.neck.widen_facter',
        'val_evaluator[0].type'
    ]


def test_num_classes_is_checked_by_mmdets_hook_when_training_starts():
    # Not by check_config: mmdet's NumClassCheckHook, a default hook of
    # configs/_base_/default_runtime.py, compares the built head and data set.
    cfg = load('yolov3_kitti.py')
    cfg.model.bbox_head.num_classes = 80
    assert check_config(cfg, data_splits=()) == []
    with DefaultScope.overwrite_default_scope('yolo_plugin'):
        hook = HOOKS.build(cfg.default_hooks.num_class_check)
        head = MODELS.build(dict(cfg.model.bbox_head, widen_factor=0.125))
    dataset = SimpleNamespace(metainfo=dict(classes=('Car', 'Pedestrian', 'Cyclist')))
    runner = SimpleNamespace(model=torch.nn.ModuleDict(dict(bbox_head=head)),
                             train_dataloader=SimpleNamespace(dataset=dataset))
    with pytest.raises(AssertionError, match=r'The `num_classes` \(80\) in YOLOAnchorHead'):
        hook.before_train_epoch(runner)
    head.num_classes = 3
    hook.before_train_epoch(runner)


def test_test_time_augmentation_wrapper_is_checked_through():
    # As tools/test.py --tta wraps the model.
    cfg = load('yolov3_kitti.py')
    cfg.model = dict(cfg.tta_model, module=cfg.model)
    assert check_config(cfg, data_splits=()) == []
    cfg.model.module.bbox_head.widen_facter = 0.5
    assert problems_of(cfg) == [
        'model.module.bbox_head.widen_facter: YOLOAnchorHead has no argument '
        "'widen_facter'; did you mean 'widen_factor'?"
    ]


def test_missing_checkpoint_to_load(tmp_path):
    cfg = load('yolov3_kitti.py')
    cfg.load_from = str(tmp_path / 'epoch_3.pth')
    assert problems_of(cfg) == [
        f"load_from: checkpoint '{tmp_path / 'epoch_3.pth'}' does not exist"
    ]


def test_missing_data_root_names_the_key_and_the_folder(tmp_path):
    missing = str(tmp_path / 'no_kitti')
    cfg = load(DEMO_CONFIG, missing)
    assert problems_of(cfg, ('train', )) == [
        f"train_dataloader.dataset.data_root: folder '{missing}' not found; "
        'point it at the data, e.g. --cfg-options '
        'train_dataloader.dataset.data_root=DIR'
    ]


def test_only_the_chosen_splits_are_read(tmp_path, demo_kitti_root):
    cfg = load(DEMO_CONFIG, demo_kitti_root)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'elsewhere')
    assert check_config(cfg, data_splits=('test', )) == []
    with pytest.raises(ValueError, match='data_splits must be among'):
        check_config(cfg, data_splits=('training', ))


@pytest.fixture
def kitti_copy(demo_kitti_root, tmp_path) -> str:
    """A copy of the demo KITTI set that a test may damage."""
    return shutil.copytree(demo_kitti_root, str(tmp_path / 'kitti'))


def test_what_the_dataset_raises_is_named_by_key(kitti_copy):
    split_file = os.path.join(kitti_copy, 'ImageSets', 'val.txt')
    os.remove(split_file)
    problems = problems_of(load(DEMO_CONFIG, kitti_copy), SPLITS)
    assert len(problems) == 1  # test_dataloader is val_dataloader
    assert problems[0].startswith(
        f'val_dataloader.dataset: {split_file}: split file not found')


def test_bad_sample_is_named_by_key_file_and_line(kitti_copy):
    label = os.path.join(kitti_copy, 'training', 'label_2', '000003.txt')
    with open(label, 'a') as f:
        f.write('Car 0.00 0 0.0 10 10 5 20 1 1 1 1 1 1 1\n')
    with open(label) as f:
        line = len(f.read().splitlines())
    cfg = load(DEMO_CONFIG, kitti_copy)
    problem, = problems_of(cfg, ('train', ))
    assert problem.startswith(f'train_dataloader.dataset: {label}:{line}: '
                              'box [10, 10, 5, 20] has zero or negative area')
    cfg.train_dataloader.dataset.on_bad_sample = 'skip'
    assert check_config(cfg, ('train', )) == []


def test_class_matching_no_type_of_the_data(demo_kitti_root):
    cfg = load(DEMO_CONFIG, demo_kitti_root)
    classes = ('Car', 'Pedestrian', 'Bus')
    cfg.train_dataloader.dataset.metainfo = dict(classes=classes)
    problem, = problems_of(cfg, ('train', ))
    assert problem.startswith(
        "train_dataloader.dataset: KittiDataset({'split': 'train', "
        "'folder': 'training'}): classes ['Bus'] match no type")


def test_class_without_instances_stops_training_and_warns_in_val(
        demo_kitti_root):
    # Not in the demo data: trams (its vans are 'Van').
    classes = ('Car', 'Pedestrian', 'Cyclist', 'Tram')
    cfg = load('_base_/datasets/kitti.py', demo_kitti_root)
    cfg.val_dataloader.dataset.metainfo = dict(classes=classes)
    warnings = check_config(cfg, SPLITS)
    assert warnings == [
        "val_dataloader.dataset: class 'Tram' has no instance in "
        'KittiDataset (val split, 4 images); its AP will be undefined'
    ]
    cfg.train_dataloader.dataset.metainfo = dict(classes=classes)
    assert problems_of(cfg, ('train', )) == [
        "train_dataloader.dataset: class 'Tram' has no instance in "
        'KittiDataset (train split, 8 images); remove it from '
        'metainfo.classes (and num_classes) or fix class_map / the data'
    ]
    # Vans counted as cars give Car instances but no 'Van' class is needed.
    cfg.train_dataloader.dataset.metainfo = dict(classes=classes[:3])
    cfg.train_dataloader.dataset.class_map = dict(Van='Car')
    assert check_config(cfg, ('train', )) == []


@pytest.mark.usefixtures('cached_darknet53')
def test_cityscapes_demo_lacks_classes(demo_cityscapes_root):
    cfg = load('yolov3_cityscapes.py', demo_cityscapes_root)
    problems = problems_of(cfg, ('train', ))
    missing = [problem.split("'")[1] for problem in problems]
    assert missing == ['bus', 'train', 'motorcycle']


def test_wrapped_datasets_are_found(demo_kitti_root, tmp_path):
    cfg = load(DEMO_CONFIG, demo_kitti_root)
    kitti = cfg.train_dataloader.dataset
    missing = dict(kitti, data_root=str(tmp_path / 'none'))
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(type='ConcatDataset', datasets=[kitti, missing]))
    assert problems_of(cfg, ('train', )) == [
        'train_dataloader.dataset.dataset.datasets[1].data_root: folder '
        f"'{tmp_path / 'none'}' not found; point it at the data, e.g. "
        '--cfg-options train_dataloader.dataset.dataset.datasets.1.data_root'
        '=DIR'
    ]


def test_decodes_no_image_and_builds_no_model(demo_kitti_root, monkeypatch):

    def forbidden(*args, **kwargs):
        raise AssertionError('the check must not do this')

    monkeypatch.setattr(mmcv, 'imfrombytes', forbidden)
    monkeypatch.setattr(mmcv, 'imread', forbidden)
    monkeypatch.setattr(MODELS, 'build', forbidden)
    assert check_config(load(DEMO_CONFIG, demo_kitti_root), SPLITS) == []


def test_offline_pretrained_backbone_names_the_key_and_both_ways_on(
        demo_kitti_root, hub_cache, tmp_path):
    cfg = load('yolov3_kitti.py', demo_kitti_root)
    assert problems_of(cfg, ('train', )) == [
        'model.backbone.init_cfg.checkpoint: darknet53-a628ea1b.pth is not in '
        f'the torch hub cache {hub_cache} and downloading {DARKNET53_URL} '
        'failed (URLError: <urlopen error offline>); either (a) put it '
        'there, downloaded elsewhere, or give a local file with --cfg-options '
        "model.backbone.init_cfg.checkpoint=FILE, e.g. Darknet's ImageNet "
        'backbone: python tools/convert_darknet_weights.py darknet53.conv.74 '
        'checkpoints/darknet53_imagenet.pth, then --cfg-options '
        'model.backbone.init_cfg.checkpoint=checkpoints/darknet53_imagenet.pth'
        ' model.backbone.init_cfg.prefix=backbone.; or (b) train from '
        'scratch: --cfg-options model.backbone.init_cfg=None'
    ]
    local_file = tmp_path / 'darknet53_imagenet.pth'
    local_file.write_bytes(b'')
    cfg.model.backbone.init_cfg.checkpoint = str(local_file)
    assert check_config(cfg, ('train', )) == []
    cfg.model.backbone.init_cfg = None
    assert check_config(cfg, ('train', )) == []


def test_pretrained_backbone_downloads_once_into_the_hub_cache(
        demo_kitti_root, hub_cache, monkeypatch):
    downloads = []

    def download(url, dst, *args, **kwargs):
        downloads.append((url, dst))
        Path(dst).write_bytes(b'')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', download)
    cfg = load('yolov3_kitti.py', demo_kitti_root)
    for _ in range(2):
        assert check_config(cfg, ('train', )) == []
    assert downloads == [(DARKNET53_URL,
                          str(hub_cache / 'darknet53-a628ea1b.pth'))]


def test_pretrained_weights_are_looked_for_in_training_only(demo_kitti_root):
    cfg = load('yolov3_kitti.py', demo_kitti_root)
    assert check_config(cfg, ()) == []
    assert check_config(cfg, ('val', 'test')) == []


def test_only_local_rank_0_downloads(demo_kitti_root, monkeypatch):
    # mmengine's loader downloads on rank 0; the others read its cache.
    monkeypatch.setenv('LOCAL_RANK', '1')
    assert check_config(load('yolov3_kitti.py', demo_kitti_root),
                        ('train', )) == []


def test_missing_local_pretrained_checkpoint(demo_kitti_root, tmp_path):
    cfg = load(DEMO_CONFIG, demo_kitti_root)
    missing = str(tmp_path / 'neck.pth')
    cfg.model.neck.init_cfg = [
        dict(type='Kaiming', layer='Conv2d'),
        dict(type='Pretrained', checkpoint=missing, prefix='neck.')
    ]
    problem, = problems_of(cfg, ('train', ))
    assert problem.startswith(
        f"model.neck.init_cfg[1].checkpoint: checkpoint '{missing}' does not "
        'exist; either (a) give an existing file with --cfg-options '
        'model.neck.init_cfg.1.checkpoint=FILE')
    assert problem.endswith('--cfg-options model.neck.init_cfg.1=None')


def test_unknown_open_mmlab_model(demo_kitti_root):
    cfg = load('yolov3_kitti.py', demo_kitti_root)
    cfg.model.backbone.init_cfg.checkpoint = 'open-mmlab://darknet35'
    assert problems_of(cfg, ('train', )) == [
        "model.backbone.init_cfg.checkpoint: 'open-mmlab://darknet35' names "
        "no model of mmengine's open-mmlab table; did you mean 'darknet53'?"
    ]
