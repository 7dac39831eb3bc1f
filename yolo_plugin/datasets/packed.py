"""Packed cache: decoded images and annotations of one split in one
memory-mappable file, so that loading a sample decodes no PNG.

File layout (little endian)::

    bytes 0..7     magic b'YPLPACK1'
    bytes 8..15    uint64 offset of the index
    bytes 16..23   uint64 length of the index in bytes
    bytes 24..     the images, one after the other: (H, W, 3) uint8 BGR,
                   C order, exactly what ``mmcv.imfrombytes`` decodes
    index          UTF-8 JSON: format version, the dataset selection it was
                   packed from (``source``), ``resize`` (null or [W, H]),
                   ``num_skipped`` and ``samples``: one dict per image with
                   ``offset``, ``shape`` and the dataset's ``data_info``
                   (frames without instances included; each with its
                   ``num_dropped_ignored_regions``).

Version 2 added ``num_dropped_ignored_regions`` to the ``data_info`` and
keeps frames without objects, which version 1 packs may have skipped:
version 1 files are refused (repack them).

Writing goes to ``<out>.partial`` with a journal ``<out>.partial.jsonl``
(one line per packed image), so an interrupted run resumes where it stopped
when rerun with the same selection; the finished file is renamed into place.
"""
import hashlib
import json
import logging
import os
import os.path as osp
import struct
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.logging import print_log
from tqdm import tqdm

from .bad_samples import BadSampleError
from .image_io import decode_image

MAGIC = b'YPLPACK1'
FORMAT_VERSION = 2
_HEADER = struct.Struct('<8sQQ')
_open_packs: Dict[Tuple[str, int], 'PackedImageFile'] = {}


class PackedImageFile:
    """A finished pack file, opened for reading.

    Args:
        path: the pack file.

    Attributes:
        source: the dataset selection the file was packed from (dict).
        resize: None, or the (W, H) box the images were rescaled into.
        samples: list of dicts with ``offset``, ``shape`` (H, W, 3) and
            ``data_info``.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: packed file not found; make it '
                                    'with tools/pack_dataset.py')
        with open(path, 'rb') as f:
            header = f.read(_HEADER.size)
            if len(header) < _HEADER.size or header[:8] != MAGIC:
                raise ValueError(f'{path}: not a yolo_plugin pack file '
                                 f'(magic {header[:8]!r}, expected {MAGIC!r})')
            _, index_offset, index_length = _HEADER.unpack(header)
            f.seek(index_offset)
            index = json.loads(f.read(index_length).decode('utf-8'))
        if index.get('format_version') != FORMAT_VERSION:
            raise ValueError(f'{path}: pack format version '
                             f'{index.get("format_version")!r}, this code '
                             f'reads version {FORMAT_VERSION}; repack it '
                             'with tools/pack_dataset.py')
        self.source: dict = index['source']
        self.resize: Optional[List[int]] = index['resize']
        self.num_skipped: int = index['num_skipped']
        self.samples: List[dict] = index['samples']
        self._pixels: Optional[np.memmap] = None

    def data_list(self) -> List[dict]:
        """The stored ``data_info`` dicts, each with a ``packed_image``
        reference (``file``, ``offset``, ``shape``) for
        ``LoadImageFromPackOrFile``."""
        return [
            dict(
                sample['data_info'],
                packed_image=dict(
                    file=self.path,
                    offset=sample['offset'],
                    shape=sample['shape'])) for sample in self.samples
        ]

    def read(self, offset: int, shape: Sequence[int]) -> np.ndarray:
        """The (H, W, 3) uint8 BGR image stored at ``offset``, as a
        writable copy (transforms may modify it in place)."""
        if self._pixels is None:
            self._pixels = np.memmap(self.path, dtype=np.uint8, mode='r')
        size = int(np.prod(shape))
        return self._pixels[offset:offset + size].reshape(shape).copy()


def read_packed_image(file: str, offset: int,
                      shape: Sequence[int]) -> np.ndarray:
    """Read one image from a pack file, keeping the file open per process
    (reopened when the file on disk changes)."""
    key = (file, os.stat(file).st_mtime_ns)
    pack = _open_packs.get(key)
    if pack is None:
        pack = _open_packs[key] = PackedImageFile(file)
    return pack.read(offset, shape)


def rescale_to_fit(img: np.ndarray,
                   size: Sequence[int]) -> Tuple[np.ndarray, float, float]:
    """Rescale keeping the aspect ratio to fit the (W, H) box ``size``, as
    mmdet's ``Resize(scale=size, keep_ratio=True)``; return the image and
    the (w_scale, h_scale) actually applied."""
    resized = mmcv.imrescale(img, tuple(size), interpolation='bilinear')
    return (resized, resized.shape[1] / img.shape[1],
            resized.shape[0] / img.shape[0])


def scale_data_info(data_info: dict, w_scale: float, h_scale: float,
                    shape: Sequence[int]) -> dict:
    """``data_info`` with boxes, height and width in rescaled pixels."""
    factors = np.array([w_scale, h_scale, w_scale, h_scale])
    instances = [
        dict(inst, bbox=(np.asarray(inst['bbox']) * factors).tolist())
        for inst in data_info['instances']
    ]
    return dict(
        data_info, instances=instances, height=shape[0], width=shape[1])


class _Journal:
    """The ``.partial`` data file and its ``.partial.jsonl`` journal of an
    unfinished pack: one journal line per image written (or skipped)."""

    def __init__(self, out_file: str, header: dict) -> None:
        self.data_path = out_file + '.partial'
        self.journal_path = out_file + '.partial.jsonl'
        self.header_line = json.dumps(header, sort_keys=True)
        self.records = self._resumable_records()
        if self.records:
            self.data = open(self.data_path, 'r+b')
            self.data.truncate(self.records[-1]['end'])
            self.data.seek(self.records[-1]['end'])
        else:
            self.data = open(self.data_path, 'w+b')
            self.data.write(b'\0' * _HEADER.size)
        # Rewritten, so that a line cut short by the interruption goes.
        with open(self.journal_path, 'w') as f:
            f.writelines(line + '\n' for line in [self.header_line] +
                         [json.dumps(record) for record in self.records])
        self.journal = open(self.journal_path, 'a')

    def _resumable_records(self) -> List[dict]:
        """The complete records of a previous run with the same header."""
        if not (osp.isfile(self.journal_path) and osp.isfile(self.data_path)):
            return []
        with open(self.journal_path) as f:
            lines = f.read().split('\n')
        if not lines or lines[0] != self.header_line:
            return []
        # The last element is '' after a complete line, or a partial line.
        records = [json.loads(line) for line in lines[1:-1]]
        data_size = osp.getsize(self.data_path)
        while records and records[-1]['end'] > data_size:
            records.pop()
        return records

    def append(self, record: dict, pixels: Optional[np.ndarray]) -> None:
        if pixels is not None:
            record['offset'] = self.data.tell()
            self.data.write(np.ascontiguousarray(pixels).tobytes())
            self.data.flush()
        record['end'] = self.data.tell()
        self.journal.write(json.dumps(record) + '\n')
        self.journal.flush()
        self.records.append(record)

    def finish(self, out_file: str, index: dict) -> None:
        """Write the index and the header, rename into ``out_file``."""
        index_bytes = json.dumps(index).encode('utf-8')
        index_offset = self.data.tell()
        self.data.write(index_bytes)
        self.data.seek(0)
        self.data.write(_HEADER.pack(MAGIC, index_offset, len(index_bytes)))
        self.data.flush()
        os.fsync(self.data.fileno())
        self.close()
        os.replace(self.data_path, out_file)
        os.remove(self.journal_path)

    def close(self) -> None:
        self.data.close()
        self.journal.close()


def write_pack(dataset,
               out_file: str,
               resize: Optional[Sequence[int]] = None,
               show_progress: bool = True) -> str:
    """Pack the images and annotations of ``dataset`` into ``out_file``.

    Args:
        dataset: a :class:`BaseDrivingDataset` built from the raw layout
            (``packed_file=None``); its pipeline is not used.
        out_file: the pack file to write (its folder is created).
        resize: None to store the images as decoded, or a (W, H) box to
            rescale them into keeping the aspect ratio (boxes, height and
            width of the annotations follow). Such a pack serves training
            only: its boxes are no longer in original-image pixels.
        show_progress: show a tqdm progress bar.

    Returns:
        ``out_file``. An interrupted run leaves ``out_file.partial`` and
        ``out_file.partial.jsonl``; rerunning with the same dataset
        selection and ``resize`` resumes from there.

    Raises:
        BadSampleError: an image fails to decode and the dataset's
            ``on_bad_sample`` is ``'error'`` (with ``'skip'`` it is left
            out and counted in the index).
    """
    data_list = [dataset.get_data_info(i) for i in range(len(dataset))]
    img_paths = '\n'.join(info['img_path'] for info in data_list)
    header = dict(
        format_version=FORMAT_VERSION,
        source=dataset.pack_source(),
        resize=list(resize) if resize is not None else None,
        images_sha1=hashlib.sha1(img_paths.encode('utf-8')).hexdigest())
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    journal = _Journal(out_file, header)
    if journal.records:
        print_log(f'{out_file}: resuming after {len(journal.records)} of '
                  f'{len(data_list)} images', logger='current')
    try:
        progress = tqdm(
            total=len(data_list),
            initial=len(journal.records),
            desc=f'packing {osp.basename(out_file)}',
            unit='img',
            disable=not show_progress)
        for data_info in data_list[len(journal.records):]:
            journal.append(*_pack_one(data_info, resize,
                                      dataset.on_bad_sample))
            progress.update()
        progress.close()
        samples = [
            dict(
                offset=record['offset'],
                shape=record['shape'],
                data_info=record['data_info']) for record in journal.records
            if 'skipped' not in record
        ]
        index = dict(
            header,
            num_skipped=len(journal.records) - len(samples),
            samples=samples)
        journal.finish(out_file, index)
    finally:
        journal.close()
    return out_file


def _pack_one(data_info: dict, resize: Optional[Sequence[int]],
              on_bad_sample: str) -> Tuple[dict, Optional[np.ndarray]]:
    """The journal record and the pixels of one sample."""
    try:
        img = decode_image(data_info['img_path'])
    except BadSampleError as err:
        if on_bad_sample == 'error':
            raise
        print_log(
            f'packing: skipping {err}', logger='current', level=logging.WARNING)
        return dict(skipped=str(err)), None
    if resize is not None:
        img, w_scale, h_scale = rescale_to_fit(img, resize)
        data_info = scale_data_info(data_info, w_scale, h_scale, img.shape)
    return dict(shape=list(img.shape), data_info=data_info), img
