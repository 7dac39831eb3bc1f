"""Building the dataset of one dataloader of a config (for the tools)."""
import argparse

from mmengine.config import Config, ConfigDict, DictAction

from yolo_plugin.registry import DATASETS
from yolo_plugin.utils.setup_env import register_all_modules

SPLITS = ('train', 'val', 'test')


def split_dataset_cfg(cfg: Config, split: str) -> ConfigDict:
    """The dataset config of ``{split}_dataloader``, taken out of dataset
    wrappers with a single ``dataset`` (RepeatDataset, ...)."""
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    key = f'{split}_dataloader'
    if key not in cfg:
        raise KeyError(f'{cfg.filename}: the config has no {key}')
    dataset_cfg = cfg[key]['dataset']
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    if 'datasets' in dataset_cfg:
        raise ValueError(f'{cfg.filename}: {key} concatenates several data '
                         'sets; give each its own config')
    return dataset_cfg


def build_split_dataset(cfg: Config, split: str, **overrides):
    """Build the dataset of ``{split}_dataloader`` (in the ``yolo_plugin``
    scope) with the keys of ``overrides`` replaced, e.g. ``pipeline=[]``."""
    register_all_modules()
    dataset_cfg = split_dataset_cfg(cfg, split).copy()
    dataset_cfg.update(overrides)
    return DATASETS.build(dataset_cfg)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of a tool that reads one split of a config: ``config``,
    ``--split`` and ``--cfg-options``."""
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', choices=SPLITS, default='train')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_dataloader.dataset.'
        'data_root=data/demo/kitti/')


def config_from_args(args: argparse.Namespace) -> Config:
    """The config named by :func:`add_config_arguments`' arguments."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg
