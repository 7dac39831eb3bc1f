"""Configs as the tools and the other APIs read them: one loader with
overrides, and the data set configs of a config's dataloaders."""
import os.path as osp
from typing import Any, Iterator, Optional, Tuple, Union

from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from yolo_plugin.registry import DATASETS

SPLITS = ('train', 'val', 'test')


class FormattedOnceConfig(Config):
    """mmengine's ``Config`` that formats its text once for each content.

    ``pretty_text`` runs yapf over the whole config (0.6 s for
    ``yolov3_kitti.py`` on an idle 2-core machine, several seconds on a busy
    one), and a Runner asks for it five times before its first iteration
    (the log, the dump into the work dir, the visualizer's copy, the message
    hub) and again for every checkpoint's ``meta``. The text is kept with
    the unformatted content it was made from and made again when the
    content changes. A deep copy (as the Runner takes) keeps both.
    """

    @property
    def pretty_text(self) -> str:
        content = (repr(self.to_dict()), self._format_python_code)
        formatted = self.__dict__.get('_formatted_text')
        if formatted is None or formatted[0] != content:
            formatted = (content, super().pretty_text)
            object.__setattr__(self, '_formatted_text', formatted)  # not a config key
        return formatted[1]


def load_config(config: Union[str, Config], cfg_options: Optional[dict] = None) -> Config:
    """The config (a file, or a ``Config`` already read, which becomes a
    :class:`FormattedOnceConfig` in place) with ``cfg_options``
    (``--cfg-options``: ``{'a.b': value}``) merged in.

    Raises:
        FileNotFoundError: naming the config file when it does not exist.
    """
    if not isinstance(config, Config):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        config = Config.fromfile(config)
    object.__setattr__(config, '__class__', FormattedOnceConfig)  # Config's writes into itself
    if cfg_options:
        config.merge_from_dict(cfg_options)
    return config


def dataset_cfgs(node: Any, path: str) -> Iterator[Tuple[str, dict]]:
    """``(path, config)`` of each data set inside dataset wrappers
    (``dataset`` of RepeatDataset & co., ``datasets`` of ConcatDataset),
    ``path`` naming its config key (``train_dataloader.dataset.dataset``)."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get('dataset'), dict):
        yield from dataset_cfgs(node['dataset'], f'{path}.dataset')
    elif isinstance(node.get('datasets'), (list, tuple)):
        for index, item in enumerate(node['datasets']):
            yield from dataset_cfgs(item, f'{path}.datasets[{index}]')
    else:
        yield path, node


def split_dataset_cfg(cfg: Config, split: str) -> ConfigDict:
    """The data set config of ``{split}_dataloader``, taken out of dataset
    wrappers with a single ``dataset`` (RepeatDataset, ...).

    Raises:
        ValueError: for an unknown split, or a dataloader concatenating
            several data sets.
        KeyError: when the config has no such dataloader.
    """
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    key = f'{split}_dataloader'
    if key not in cfg:
        raise KeyError(f'{cfg.filename}: the config has no {key}')
    found = list(dataset_cfgs(cfg[key]['dataset'], f'{key}.dataset'))
    if len(found) > 1:
        raise ValueError(f'{cfg.filename}: {key} concatenates several data '
                         'sets; give each its own config')
    return found[0][1]


def build_split_dataset(cfg: Config, split: str, **overrides):
    """Build the data set of ``{split}_dataloader`` in the ``yolo_plugin``
    scope with the keys of ``overrides`` replaced, e.g. ``pipeline=[]``."""
    dataset_cfg = split_dataset_cfg(cfg, split).copy()
    dataset_cfg.update(overrides)
    with DefaultScope.overwrite_default_scope('yolo_plugin'):
        return DATASETS.build(dataset_cfg)
