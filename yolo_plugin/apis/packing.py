"""Packing a split of a config into one memory-mappable file
(``tools/pack_dataset.py``; the format: :mod:`yolo_plugin.datasets.packed`)."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config

from yolo_plugin.datasets.packed import write_pack
from .config import build_split_dataset


def pack_split(cfg: Config,
               split: str,
               out_file: Optional[str] = None,
               resize: Optional[Sequence[int]] = None,
               show_progress: bool = True) -> str:
    """Pack the dataset of ``{split}_dataloader`` of config ``cfg``.

    ``out_file`` defaults to ``{data_root}/packed/{split}.pack`` (with
    ``_{W}x{H}`` before the suffix when ``resize`` is given). Returns it.
    """
    dataset = build_split_dataset(cfg, split, pipeline=[], packed_file=None)
    if resize is not None and dataset.test_mode:
        raise ValueError(
            f'{split}_dataloader is a test-mode dataset: pre-resized packs '
            'hold boxes in resized pixels and serve training only')
    if out_file is None:
        suffix = '' if resize is None else f'_{resize[0]}x{resize[1]}'
        out_file = osp.join(dataset.data_root, 'packed',
                            f'{split}{suffix}.pack')
    return write_pack(dataset, out_file, resize, show_progress)
