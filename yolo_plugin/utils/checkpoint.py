"""Checkpoint files: safe loading under torch >= 2.6 and atomic saving.

torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7
calls ``torch.load`` without the argument, so its checkpoints (which hold a
few non-tensor objects: the message hub's ``HistoryBuffer`` with numpy
arrays, config dicts) fail to load. Instead of turning that safety off, the
loader here keeps ``weights_only=True`` and allow-lists exactly the types an
mmengine checkpoint holds.

Downloaded checkpoints need the same care: mmengine's ``load_from_http``
(``http(s)://``, and the ``open-mmlab://``, ``torchvision://`` and
``mmcls://`` names that resolve to a URL) goes through torch.hub's
``load_state_dict_from_url``, which unpickles with ``weights_only=False``.
The loaders here download to the same place and load through the safe local
loader. (``pavi://`` and ``s3://`` stay mmengine's: they call ``torch.load``
with torch's default, ``weights_only=True``.)
"""
import logging
import os
import os.path as osp
import pickle
import tempfile
import zipfile
from typing import Callable, List, Optional, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as fileio_io
from mmengine.logging import print_log
from mmengine.runner.checkpoint import (CheckpointLoader, _get_mmengine_home,
                                        _process_mmcls_checkpoint,
                                        get_deprecated_model_names, get_external_models,
                                        get_mmcls_models, get_torchvision_models)

HTTP_PREFIXES = ('http://', 'https://')
OPENMMLAB_PREFIXES = ('open-mmlab://', 'openmmlab://')
TORCHVISION_PREFIXES = ('torchvision://', 'modelzoo://')  # modelzoo: deprecated
MMCLS_PREFIX = 'mmcls://'


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read (missing, truncated, corrupt or
    holding objects outside the allow-list)."""


def _history_buffer_statistic(owner, name: str):
    """Stands in for ``builtins.getattr`` while unpickling. mmengine's
    ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; only those lookups are allowed."""
    from mmengine.logging import HistoryBuffer

    if owner is HistoryBuffer and name in ('min', 'max', 'current', 'mean'):
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'refused getattr({owner!r}, {name!r}): only HistoryBuffer statistics are allowed')


def checkpoint_safe_globals() -> List[Union[Callable, type, tuple]]:
    """Non-tensor globals an mmengine checkpoint may hold, for
    ``torch.serialization.safe_globals``; ``(object, name)`` pairs map a
    pickled name to a stand-in."""
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    numpy_globals = [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    # Checkpoints written under numpy 1.x name the module numpy.core.
    numpy_globals += [(multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
                      (multiarray.scalar, 'numpy.core.multiarray.scalar')]
    # numpy >= 1.25 may pickle dtypes by their class (numpy.dtypes.Float64DType).
    numpy_globals += list({type(np.dtype(t)) for t in np.sctypeDict.values()})
    return [HistoryBuffer, ConfigDict, (_history_buffer_statistic, 'builtins.getattr'),
            *numpy_globals]


def _refusal_reason(message: str) -> str:
    """What torch's weights-only unpickler refused, from its error message:
    the paragraphs between its preamble ("Weights only load failed ...")
    and its pointer to the documentation ("Check the documentation ..."),
    e.g. ``Trying to load unsupported GLOBAL posix.system ...``."""
    paragraphs = [' '.join(p.split()) for p in message.split('\n\n') if p.strip()]
    reasons = [p for p in paragraphs
               if not p.startswith(('Weights only load failed', 'Check the documentation'))]
    return ' '.join(reasons) or paragraphs[-1]


def load_from_local_safe(filename: str,
                         map_location: Optional[Union[str, Callable]] = None,
                         logger=None) -> dict:
    """``torch.load`` of a local checkpoint with ``weights_only=True`` and
    the allow-list above.

    Raises:
        CheckpointError: naming the file, when it is missing, truncated,
            corrupt, or needs a type outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise CheckpointError(f'Checkpoint file not found: {filename}')
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if 'Weights only load failed' in str(error):
            raise CheckpointError(
                f'Checkpoint {filename} holds objects that are not allowed to '
                f'load safely: {_refusal_reason(str(error))}') from error
        raise CheckpointError(f'Checkpoint {filename} is corrupt: {error}') from error
    except (EOFError, RuntimeError, zipfile.BadZipFile, ValueError) as error:
        raise CheckpointError(
            f'Checkpoint {filename} is truncated or corrupt ({type(error).__name__}: '
            f'{error})') from error


def hub_cache_path(url: str) -> str:
    """Where torch.hub's ``load_state_dict_from_url`` (so mmengine's
    ``load_from_http``) keeps the download of ``url``:
    ``torch.hub.get_dir()/checkpoints/<file name of the URL>``."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))


def download_to_hub_cache(url: str) -> str:
    """The path of ``url`` in torch.hub's checkpoint cache, downloading it
    there first when it is missing."""
    cached = hub_cache_path(url)
    if not osp.exists(cached):
        os.makedirs(osp.dirname(cached), exist_ok=True)
        torch.hub.download_url_to_file(url, cached, progress=os.isatty(0))
    return cached


def load_from_http_safe(filename: str,
                        map_location: Optional[Union[str, Callable]] = None) -> dict:
    """mmengine's ``load_from_http`` loading through
    :func:`load_from_local_safe`: rank 0 downloads into torch.hub's cache,
    the other ranks wait for it and then read the cache (downloading
    themselves where their machine's cache lacks the file)."""
    rank, world_size = get_dist_info()
    if rank == 0:
        cached = download_to_hub_cache(filename)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            cached = download_to_hub_cache(filename)
    return load_from_local_safe(cached, map_location)


def _look_up(filename: str, name: str, table: dict, table_name: str) -> str:
    """``table[name]``, the location of checkpoint ``filename``.

    Raises:
        CheckpointError: naming ``filename`` and the table, when the name
            is not in it.
    """
    if name not in table:
        raise CheckpointError(f'Checkpoint {filename}: {name!r} is not in {table_name}')
    return table[name]


def resolve_openmmlab(filename: str) -> str:
    """The URL, or the file under mmengine's home, that mmengine's
    ``load_from_openmmlab`` resolves ``open-mmlab://NAME`` (or
    ``openmmlab://NAME``) to: deprecated names replaced, then looked up in
    mmengine's table (with ``open_mmlab.json`` of mmengine's home).

    Raises:
        CheckpointError: when the name is not in the table.
    """
    prefix, name = filename.split('://', 1)
    deprecated = get_deprecated_model_names()
    if name in deprecated:
        print_log(f'{prefix}://{name} is deprecated in favor of {prefix}://{deprecated[name]}',
                  logger='current', level=logging.WARNING)
        name = deprecated[name]
    location = _look_up(filename, name, get_external_models(), "mmengine's open-mmlab table")
    if location.startswith(HTTP_PREFIXES):
        return location
    return osp.join(_get_mmengine_home(), location)


def load_from_openmmlab_safe(filename: str,
                             map_location: Optional[Union[str, Callable]] = None) -> dict:
    """mmengine's ``load_from_openmmlab`` loading through
    :func:`load_from_http_safe` or :func:`load_from_local_safe`."""
    location = resolve_openmmlab(filename)
    if location.startswith(HTTP_PREFIXES):
        return load_from_http_safe(location, map_location)
    return load_from_local_safe(location, map_location)


def load_from_torchvision_safe(filename: str,
                               map_location: Optional[Union[str, Callable]] = None) -> dict:
    """mmengine's ``load_from_torchvision`` (``torchvision://NAME``, or the
    deprecated ``modelzoo://NAME``) loading through
    :func:`load_from_http_safe`: NAME looked up in mmengine's table of
    torchvision's URLs (which imports torchvision, as mmengine's does)."""
    prefix, name = filename.split('://', 1)
    if prefix == 'modelzoo':
        print_log('The URL scheme of "modelzoo://" is deprecated, please use '
                  '"torchvision://" instead', logger='current', level=logging.WARNING)
    url = _look_up(filename, name, get_torchvision_models(), "torchvision's model table")
    return load_from_http_safe(url, map_location)


def load_from_mmcls_safe(filename: str,
                         map_location: Optional[Union[str, Callable]] = None) -> dict:
    """mmengine's ``load_from_mmcls`` (``mmcls://NAME``) loading through
    :func:`load_from_http_safe`; as mmengine's, the result holds the
    ``backbone.`` weights without that prefix."""
    name = filename[len(MMCLS_PREFIX):]
    url = _look_up(filename, name, get_mmcls_models(), "mmengine's mmcls table")
    return _process_mmcls_checkpoint(load_from_http_safe(url, map_location))


def register_safe_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints (``Runner.load_checkpoint``,
    ``--resume``, ``init_cfg=dict(type='Pretrained')``) through
    :func:`load_from_local_safe`, and ``http(s)://``, ``open-mmlab://``,
    ``torchvision://`` and ``mmcls://`` ones through
    :func:`load_from_http_safe` and the loaders that resolve their names;
    and write every local file atomically."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local_safe)
    CheckpointLoader.register_scheme(HTTP_PREFIXES, load_from_http_safe, force=True)
    CheckpointLoader.register_scheme(OPENMMLAB_PREFIXES, load_from_openmmlab_safe, force=True)
    CheckpointLoader.register_scheme(TORCHVISION_PREFIXES, load_from_torchvision_safe,
                                     force=True)
    CheckpointLoader.register_scheme(MMCLS_PREFIX, load_from_mmcls_safe, force=True)
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # Forget local backends created before this registration.
    for key, backend in list(fileio_io.backend_instances.items()):
        if type(backend) is LocalBackend:
            del fileio_io.backend_instances[key]


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic writes: the data go to a
    temporary file beside the target, which is then renamed over it, so a
    crash mid-write never leaves a truncated checkpoint or log."""

    def put(self, obj: bytes, filepath) -> None:
        filepath = str(filepath)
        directory = osp.dirname(osp.abspath(filepath))
        os.makedirs(directory, exist_ok=True)
        handle, tmp_path = tempfile.mkstemp(dir=directory,
                                            prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
        try:
            with os.fdopen(handle, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_path, filepath)
        except BaseException:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            raise

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)
