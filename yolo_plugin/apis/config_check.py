"""Checks of a config before the Runner is built: what mmengine would find
out only minutes later (or never), found in seconds, with a message naming
the config key.

:func:`check_config` is the entry point. It checks

* every dict with a ``type`` (model, datasets and pipelines of every
  dataloader, evaluators, hooks, optimizer, parameter schedulers,
  visualizer, loops, ...): the type is registered, and each key is an
  argument of that class. The registries tell which one builds a type: the
  one that holds its name (a Runner key's own registry first), and for a
  misspelled name the one that holds the closest. ``**kwargs`` that reach
  no closed signature accept any key, except where a ``*_type`` argument
  names the class they are handed to (``EMAHook``'s ``ema_type``);
* top-level keys that look like a misspelled Runner key;
* ``load_from`` is an existing file (local paths);
* for the chosen splits, each dataset finds its data (``data_root`` and
  what the dataset itself requires: split files, folders, label files) and
  every configured class has instances: an error for the training split, a
  warning for the others;
* for training (``'train'`` among the splits), the checkpoint of each
  ``init_cfg=dict(type='Pretrained')`` of the model, which the Runner
  loads when training starts: a local file exists; one of the model zoo
  (``open-mmlab://NAME``, ``http(s)://``) is in torch.hub's checkpoint
  cache, where mmengine looks for it, or is downloaded there now.

The head's ``num_classes`` against the data sets' classes is mmdet's
``NumClassCheckHook`` (a default hook of ``configs/_base_/default_runtime.py``),
when training or validation starts. The check builds no model, decodes no
image and reads no checkpoint; the data sets parse their labels (and read
image headers) as they will when the Runner builds them.
"""
import difflib
import inspect
import logging
import os
import os.path as osp
import re
from collections import Counter
from functools import lru_cache
from http.client import HTTPException
from typing import (AbstractSet, Any, FrozenSet, Iterable, Iterator, List, Optional, Sequence,
                    Tuple)

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit
from mmengine.registry import FUNCTIONS, DefaultScope, Registry
from mmengine.runner import Runner
from mmengine.runner.checkpoint import get_external_models
from torch.utils.data import DataLoader

from yolo_plugin import registry as registries
from yolo_plugin.datasets.class_counts import count_instances
from yolo_plugin.registry import (DATA_SAMPLERS, DATASETS, EVALUATOR, HOOKS, LOG_PROCESSORS,
                                  LOOPS, METRICS, MODEL_WRAPPERS, MODELS,
                                  OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, PARAM_SCHEDULERS,
                                  RUNNERS, TRANSFORMS, VISUALIZERS)
from yolo_plugin.utils.checkpoint import (HTTP_PREFIXES, OPENMMLAB_PREFIXES, CheckpointError,
                                          download_to_hub_cache, hub_cache_path,
                                          resolve_openmmlab)
from .config import SPLITS, dataset_cfgs

# Every registry of the scope: yolo_plugin's, whose parents are mmdet's and
# mmengine's.
REGISTRIES = tuple(value for value in vars(registries).values()
                   if isinstance(value, Registry) and value.scope == 'yolo_plugin')
# What the Runner builds from its top-level keys: the registry, and the type
# it takes when the config names none (``optim_wrapper``: see
# ``_check_optim_wrapper``).
RUNNER_KEYS = {
    'model': (MODELS, None),
    'tta_model': (MODELS, None),
    'data_preprocessor': (MODELS, None),
    'model_wrapper_cfg': (MODEL_WRAPPERS, 'MMDistributedDataParallel'),
    'visualizer': (VISUALIZERS, None),
    'log_processor': (LOG_PROCESSORS, 'LogProcessor'),
    'val_cfg': (LOOPS, 'ValLoop'),
    'test_cfg': (LOOPS, 'TestLoop'),
}
# Keys that a builder outside the registries reads before it calls the
# class, so that no signature shows them: mmcv's ``build_norm_layer``
# (``norm_cfg``) and mmengine's ``initialize`` (``init_cfg``, ``override``).
BUILDER_KEYS = {
    'norm_cfg': {'requires_grad'},
    'init_cfg': {'override'},
    'override': {'name'},
}
ALWAYS_ALLOWED = {'type', '_scope_'}
# Keys of a dataloader the Runner takes besides DataLoader's arguments.
DATALOADER_EXTRAS = {'num_batch_per_epoch', 'disable_subprocess_warning'}
# Config keys mmengine's Runner.from_cfg reads besides Runner's arguments.
RUNNER_EXTRAS = {
    'model_wrapper_cfg', 'runner_type', 'compile', 'strategy', 'tta_model',
    'tta_pipeline'
}
# How close a top-level key must be to a Runner key to count as a typo.
TYPO_CUTOFF = 0.9  # 'optim_wraper' 0.96; 'test_pipeline' ~ 'tta_pipeline' 0.88
# What mmengine's BaseModule.init_weights takes for a pretrained init_cfg.
PRETRAINED_TYPES = ('Pretrained', PretrainedInit)
DEFAULT_CONSTRUCTOR = 'DefaultOptimWrapperConstructor'


class ConfigError(ValueError):
    """A config that would fail (or silently do something else) once
    training starts.

    Attributes:
        problems: one line each, starting with the config key path.
    """

    def __init__(self, filename: Optional[str], problems: List[str]):
        where = f' {filename}' if filename else ''
        header = f'{len(problems)} problem(s) in the config{where}:'
        super().__init__('\n  - '.join([header] + problems))
        self.problems = problems


def check_config(cfg: Config,
                 data_splits: Sequence[str] = ('train', 'val')) -> List[str]:
    """Check ``cfg`` before building the Runner (see the module doc).

    Args:
        cfg: the config, with command-line overrides merged.
        data_splits: the splits whose data sets are built and checked
            (``'train'``, ``'val'``, ``'test'``): ``('train', 'val')`` for
            training, ``('test', )`` for testing, ``()`` for static checks
            only. With ``'train'`` the pretrained checkpoints are found
            too (and downloaded into torch.hub's cache where missing).

    Returns:
        The warnings, also logged: configured classes without instances in
        a split other than ``'train'``.

    Raises:
        ConfigError: listing every problem found.
    """
    unknown = sorted(set(data_splits) - set(SPLITS))
    if unknown:
        raise ValueError(f'data_splits must be among {SPLITS}, got {unknown}')
    problems = _StaticChecker().check(cfg)
    if problems:
        raise ConfigError(cfg.filename, problems)
    problems, warnings = _check_data(cfg, data_splits)
    if 'train' in data_splits:
        problems += _check_pretrained(cfg)
    if problems:
        raise ConfigError(cfg.filename, problems)
    for warning in warnings:
        print_log(warning, logger='current', level=logging.WARNING)
    return warnings


def registered_names(registry: Registry) -> FrozenSet[str]:
    """Names registered in ``registry`` and its parents, after importing
    the modules that fill them (the registries' ``locations``; once)."""
    names = set()
    while registry is not None:
        registry.import_from_location()
        names |= set(registry.module_dict)
        registry = registry.parent
    return frozenset(names)


def find_registered(name: str, first: Registry) -> Tuple[Any, Registry]:
    """``(class, registry)`` of a registered type name, looked up in
    ``first`` and then in every registry of the scope; ``(None, first)``
    when none holds it."""
    for registry in (first, *REGISTRIES):
        if name.split('.')[-1] not in registered_names(registry) and '.' not in name:
            continue
        try:
            found = registry.get(name)
        except (KeyError, RuntimeError):  # a dotted name that imports nothing
            found = None
        if found is not None:
            return found, registry
    return None, first


def closest_registered(name: str, first: Registry) -> Tuple[Optional[str], Registry]:
    """The registered name closest to a misspelled ``name`` (difflib) and
    the registry holding it (``first`` when it holds the name too);
    ``(None, first)`` without a close one."""
    candidates = {}
    for registry in reversed((first, *REGISTRIES)):
        candidates.update(dict.fromkeys(registered_names(registry), registry))
    match = closest(name, candidates)
    return (match, candidates[match]) if match else (None, first)


# Static checks: types and argument names.
class _StaticChecker:
    """Walks a config, collecting one line per problem."""

    def __init__(self) -> None:
        self.problems: List[str] = []

    def check(self, cfg: Config) -> List[str]:
        self._check_top_level_keys(cfg)
        for key, (registry, default_type) in RUNNER_KEYS.items():
            if isinstance(cfg.get(key), dict):
                self.built(cfg[key], key, registry, default_type)
        self._check_optim_wrapper(cfg.get('optim_wrapper'))
        self._check_train_loop(cfg.get('train_cfg'))
        for split in SPLITS:
            self._check_dataloader(cfg.get(f'{split}_dataloader'), f'{split}_dataloader')
            self._check_evaluator(cfg.get(f'{split}_evaluator'), f'{split}_evaluator')
        self.children(cfg.get('tta_pipeline'), 'tta_pipeline', TRANSFORMS, 'pipeline')
        for name, hook in (cfg.get('default_hooks') or {}).items():
            if hook is not None:
                self.built(hook, f'default_hooks.{name}', HOOKS, consumed={'priority'})
        for index, hook in enumerate(cfg.get('custom_hooks') or []):
            self.built(hook, f'custom_hooks[{index}]', HOOKS, consumed={'priority'})
        for path, scheduler in _schedulers(cfg.get('param_scheduler'), 'param_scheduler'):
            self.built(scheduler, path, PARAM_SCHEDULERS, consumed={'convert_to_iter_based'})
        if isinstance(cfg.get('runner_type'), str):
            self.resolve(cfg.runner_type, 'runner_type', RUNNERS)
        self._check_load_from(cfg)
        return self.problems

    def built(self,
              node: Any,
              path: str,
              registry: Registry,
              default_type: Optional[str] = None,
              consumed: AbstractSet[str] = frozenset()) -> None:
        """``node``: a dict a registry builds (``registry`` first, with
        ``default_type`` when it names none), whose builder takes the
        ``consumed`` keys out first; then the dicts inside it."""
        if not isinstance(node, dict):
            return
        type_ = node.get('type', default_type)
        if type_ is None:
            self.problems.append(f"{path}: no 'type' (which {registry.name} to build?)")
            return
        if isinstance(type_, str) and '_scope_' in node and '.' not in type_:
            type_ = f"{node['_scope_']}.{type_}"
        target, registry = self.resolve(type_, f'{path}.type', registry)
        if target is not None:
            self.arguments(node, path, target, consumed, registry)
        for key, value in node.items():
            if key not in ALWAYS_ALLOWED:
                self.children(value, f'{path}.{key}', registry, key)

    def children(self, value: Any, path: str, registry: Registry, key: str,
                 argument: bool = True) -> None:
        """Typed dicts in ``value``, found under ``key`` of a dict built from
        ``registry``, through lists and plain dicts. A typed dict that is an
        argument (or in a list that is) must name a registered type; one
        deeper in a plain dict may name something no registry builds (an
        NMS op: ``test_cfg.nms``), so it is checked only when it names a
        registered type or misspells one."""
        if isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                self.children(item, f'{path}[{index}]', registry, key, argument)
        elif isinstance(value, dict) and 'type' in value:
            name = value['type']
            if argument or not isinstance(name, str) or self._registered_or_close(name, registry):
                self.built(value, path, registry, consumed=BUILDER_KEYS.get(key, frozenset()))
        elif isinstance(value, dict):
            for child_key, child in value.items():
                self.children(child, f'{path}.{child_key}', registry, child_key, False)

    @staticmethod
    def _registered_or_close(name: str, registry: Registry) -> bool:
        return (find_registered(name, registry)[0] is not None
                or closest_registered(name, registry)[0] is not None)

    def resolve(self, type_: Any, path: str, registry: Registry) -> Tuple[Any, Registry]:
        """``(class or function, its registry)`` that ``type_`` names
        (``registry`` first, then every registry), or ``(None, registry)``
        after recording the problem."""
        if callable(type_):  # a class in a pure-Python config
            return type_, registry
        if not isinstance(type_, str):
            self.problems.append(f'{path}: expected a type name, got {type_!r}')
            return None, registry
        target, found_in = find_registered(type_, registry)
        if target is None:
            match, found_in = closest_registered(type_, registry)
            hint = f'; did you mean {match!r}?' if match else ''
            self.problems.append(f'{path}: {type_!r} is not a registered {found_in.name}{hint}')
        return target, found_in

    def arguments(self,
                  node: dict,
                  path: str,
                  target,
                  consumed: AbstractSet[str] = frozenset(),
                  registry: Registry = MODELS) -> None:
        """Every key of ``node`` is an argument of ``target`` (or of the
        class its ``**kwargs`` go to, see :func:`forwarded_to`, looked up
        from ``registry`` first)."""
        owner = getattr(target, '__name__', repr(target))
        accepted = accepted_arguments(target)
        if accepted is None:
            forwarded = forwarded_to(target, node)
            if forwarded is None:
                return
            key, name = forwarded
            built, _ = self.resolve(name, f'{path}.{key}', registry)
            accepted = None if built is None else _union(_init_names(target),
                                                         accepted_arguments(built))
            if accepted is None:
                return
        for key in node:
            if key in accepted or key in ALWAYS_ALLOWED or key in consumed:
                continue
            hint = _did_you_mean(key, accepted | consumed) or (
                f" (its arguments: {', '.join(sorted(accepted))})")
            self.problems.append(f'{path}.{key}: {owner} has no argument {key!r}{hint}')

    def _check_top_level_keys(self, cfg: Config) -> None:
        """A top-level key close to a Runner key it is not, e.g.
        ``optim_wraper``: the Runner would silently ignore it."""
        known = set(inspect.signature(Runner.__init__).parameters)
        known |= RUNNER_EXTRAS
        for key in cfg.keys():
            if key in known:
                continue
            match = difflib.get_close_matches(key, known, 1, TYPO_CUTOFF)
            if match:
                self.problems.append(
                    f'{key}: not a key the Runner reads, so it would be '
                    f'ignored; did you mean {match[0]!r}?')

    def _check_optim_wrapper(self, optim_wrapper: Any) -> None:
        """``optim_wrapper``: the wrapper, and what its constructor (the
        ``constructor`` key) takes out before building it (its arguments
        besides ``optim_wrapper_cfg``: ``paramwise_cfg``)."""
        if not isinstance(optim_wrapper, dict):
            return
        name = optim_wrapper.get('constructor', DEFAULT_CONSTRUCTOR)
        constructor, _ = self.resolve(name, 'optim_wrapper.constructor',
                                      OPTIM_WRAPPER_CONSTRUCTORS)
        if constructor is None:  # misspelled, and listed: take the default's
            constructor = OPTIM_WRAPPER_CONSTRUCTORS.get(DEFAULT_CONSTRUCTOR)
        consumed = {'constructor'}
        consumed |= (accepted_arguments(constructor) or frozenset()) - {'optim_wrapper_cfg'}
        self.built(optim_wrapper, 'optim_wrapper', OPTIM_WRAPPERS, 'OptimWrapper', consumed)

    def _check_train_loop(self, loop: Any) -> None:
        """``train_cfg``: a ``type``, or ``by_epoch`` choosing mmengine's
        epoch- or iteration-based loop."""
        if not isinstance(loop, dict):
            return
        if 'type' in loop or 'by_epoch' not in loop:
            self.built(loop, 'train_cfg', LOOPS)
        else:
            default = ('EpochBasedTrainLoop'
                       if loop['by_epoch'] else 'IterBasedTrainLoop')
            self.built(loop, 'train_cfg', LOOPS, default, {'by_epoch'})

    def _check_dataloader(self, loader: Any, path: str) -> None:
        """DataLoader's arguments; dataset, samplers and functions."""
        if not isinstance(loader, dict):
            return
        self.arguments(loader, path, DataLoader, DATALOADER_EXTRAS)
        self.built(loader.get('dataset'), f'{path}.dataset', DATASETS)
        for key in ('sampler', 'batch_sampler'):
            self.built(loader.get(key), f'{path}.{key}', DATA_SAMPLERS)
        for key in ('collate_fn', 'worker_init_fn'):
            self.built(loader.get(key), f'{path}.{key}', FUNCTIONS)

    def _check_evaluator(self, evaluator: Any, path: str) -> None:
        """A metric, a list of metrics, or an evaluator with ``metrics``."""
        if isinstance(evaluator, (list, tuple)):
            for index, metric in enumerate(evaluator):
                self.built(metric, f'{path}[{index}]', METRICS)
        elif isinstance(evaluator, dict) and 'metrics' in evaluator:
            self.built(evaluator, path, EVALUATOR, 'Evaluator')
        else:
            self.built(evaluator, path, METRICS)

    def _check_load_from(self, cfg: Config) -> None:
        load_from = cfg.get('load_from')
        if (isinstance(load_from, str) and '://' not in load_from
                and not osp.isfile(load_from)):
            self.problems.append(
                f'load_from: checkpoint {load_from!r} does not exist'
                f'{_relative_note(load_from)}')


@lru_cache(maxsize=None)
def accepted_arguments(target) -> Optional[FrozenSet[str]]:
    """Keyword arguments ``target`` (a class or function) accepts; None when
    it takes any.

    A class's ``__init__`` with ``**kwargs`` is taken to pass them up: the
    arguments of the next ``__init__`` in the MRO are added, until one
    without ``**kwargs``; ``**kwargs`` that reach ``object`` are the class's
    own (e.g. options stored for later), so any key is accepted.
    """
    if not inspect.isclass(target):
        return _signature_names(target)
    names = set()
    found_init = False
    for klass in target.__mro__:
        init = vars(klass).get('__init__')
        if init is None:
            continue
        if klass is object:
            return None if found_init else frozenset()
        found_init = True
        own = _signature_names(init, method=True)
        if own is not None:
            return frozenset(names | own)
        names |= _init_names(klass)
    return None


def forwarded_to(target, node: dict) -> Optional[Tuple[str, str]]:
    """``(key, type name)`` of the class a ``**kwargs`` class hands its
    keyword arguments to: an argument ending in ``_type`` whose value (in
    ``node``, else its default) is a type name (``EMAHook(ema_type=...)``,
    ``RandomResize(resize_type=...)``); None when there is none."""
    if not inspect.isclass(target):
        return None
    parameters = _parameters(target.__init__, method=True) or []
    for parameter in parameters:
        if parameter.name.endswith('_type'):
            name = node.get(parameter.name, parameter.default)
            if isinstance(name, str):
                return parameter.name, name
    return None


def _init_names(klass) -> FrozenSet[str]:
    """Keyword names of the ``__init__`` ``klass`` runs (its own or
    inherited), ``**kwargs`` left aside."""
    return _keyword_names(_parameters(klass.__init__, method=True))


def _union(names: FrozenSet[str],
           more: Optional[FrozenSet[str]]) -> Optional[FrozenSet[str]]:
    return None if more is None else names | more


def _signature_names(function,
                     method: bool = False) -> Optional[FrozenSet[str]]:
    """Keyword names of ``function`` (without ``self`` for a ``method``);
    None with ``**kwargs`` or without a readable signature."""
    parameters = _parameters(function, method)
    if parameters is None or any(p.kind is p.VAR_KEYWORD
                                 for p in parameters):
        return None
    return _keyword_names(parameters)


def _parameters(function, method: bool) -> Optional[list]:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return None
    return parameters[1:] if method else parameters


def _keyword_names(parameters) -> FrozenSet[str]:
    return frozenset(
        p.name for p in parameters or ()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def closest(name: str, candidates: Iterable[str]) -> Optional[str]:
    """The candidate most like ``name`` (difflib's ratio, at least 0.6);
    of equally like ones, the one with the most letters in common, so that
    a transposition wins ('SDG': 'SGD', not 'SSDVGG')."""
    matches = difflib.get_close_matches(name, list(candidates), n=10)
    if not matches:
        return None
    ratios = [difflib.SequenceMatcher(None, match, name).ratio() for match in matches]
    ties = [match for match, ratio in zip(matches, ratios) if ratio == ratios[0]]
    return max(ties, key=lambda m: sum((Counter(name) & Counter(m)).values()) / len(m))


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    match = closest(name, candidates)
    return f'; did you mean {match!r}?' if match else ''


def _relative_note(path: str) -> str:
    return '' if osp.isabs(path) else f' (relative to {osp.abspath(".")})'


def _option_key(path: str) -> str:
    """A config key path as ``--cfg-options`` writes it (``a[1].b``:
    ``a.1.b``)."""
    return re.sub(r'\[(\d+)\]', r'.\1', path)


def _schedulers(node: Any, path: str) -> Iterator[Tuple[str, dict]]:
    """(path, dict) of each scheduler: one dict, a list, or (several
    optimizers) a dict of those by optimizer name."""
    if isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            yield f'{path}[{index}]', item
    elif isinstance(node, dict) and 'type' not in node:
        for name, item in node.items():
            yield from _schedulers(item, f'{path}.{name}')
    elif isinstance(node, dict):
        yield path, node


# Data checks: build each data set without its pipeline.
def _check_data(cfg: Config,
                splits: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(problems, warnings) of the data sets of ``splits``; a data set
    config shared by two splits (test = val) is checked once."""
    problems, warnings, seen = [], [], []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader') or {}
        for path, dataset_cfg in dataset_cfgs(
                loader.get('dataset'), f'{split}_dataloader.dataset'):
            if dataset_cfg in seen:
                continue
            seen.append(dataset_cfg)
            found, problem = _build_dataset(dataset_cfg, path)
            if problem:
                problems.append(problem)
                continue
            for name in _classes_without_instances(found):
                message = (f'{path}: class {name!r} has no instance in '
                           f'{type(found).__name__} ({split} split, '
                           f'{len(found)} images)')
                if split == 'train':
                    problems.append(
                        message + '; remove it from metainfo.classes '
                        '(and num_classes) or fix class_map / the data')
                else:
                    warnings.append(message + '; its AP will be undefined')
    return problems, warnings


def _build_dataset(dataset_cfg: dict, path: str) -> Tuple[Any, Optional[str]]:
    """(dataset, None), or (None, problem) naming ``path``."""
    data_root = dataset_cfg.get('data_root')
    if data_root and not osp.isdir(data_root):
        option = _option_key(f'{path}.data_root')
        return None, (f'{path}.data_root: folder {data_root!r} not found'
                      f'{_relative_note(data_root)}; point it at the data, '
                      f'e.g. --cfg-options {option}=DIR')
    # Parse the annotations only: no transforms, nothing kept for workers.
    quick = dict(dataset_cfg, pipeline=[], lazy_init=False,
                 serialize_data=False)
    try:
        with DefaultScope.overwrite_default_scope('yolo_plugin'):
            return DATASETS.build(quick), None
    except (OSError, ValueError, KeyError, TypeError) as err:
        return None, f'{path}: {err}'


def _classes_without_instances(dataset) -> List[str]:
    """Classes without a non-ignored instance; none for a data set built
    without annotations."""
    if not getattr(dataset, 'with_annotations', True):
        return []
    return [name for name, n in count_instances(dataset).items() if n == 0]


# Pretrained weights: the checkpoints the Runner loads when training starts.
def _check_pretrained(cfg: Config) -> List[str]:
    """One problem for each pretrained ``init_cfg`` of the model whose
    checkpoint cannot be found."""
    problems = []
    for path, init_cfg in pretrained_inits(cfg.get('model'), 'model'):
        checkpoint = init_cfg.get('checkpoint')
        if isinstance(checkpoint, str):
            problem = _find_checkpoint(checkpoint, path)
            if problem:
                problems.append(problem)
    return problems


def pretrained_inits(node: Any, path: str) -> Iterator[Tuple[str, dict]]:
    """(path, config) of each ``init_cfg`` of type ``Pretrained`` in
    ``node`` (a model config), through nested dicts and lists."""
    if isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            yield from pretrained_inits(item, f'{path}[{index}]')
    elif isinstance(node, dict):
        if node.get('type') in PRETRAINED_TYPES:
            yield path, node
        for key, value in node.items():
            yield from pretrained_inits(value, f'{path}.{key}')


def _find_checkpoint(checkpoint: str, init_path: str) -> Optional[str]:
    """None when the checkpoint of the ``init_cfg`` at ``init_path`` is a
    local file, or one of the model zoo that is in torch.hub's checkpoint
    cache or downloads there now (from local rank 0 only, as the safe
    loader downloads; the distributed group does not exist yet); else the
    problem. Other remote schemes (``s3://`` ...) are left to their
    loaders."""
    key = f'{init_path}.checkpoint'
    if checkpoint.startswith(OPENMMLAB_PREFIXES):
        try:
            checkpoint = resolve_openmmlab(checkpoint)
        except CheckpointError:
            name = checkpoint.split('://', 1)[1]
            return (f"{key}: {checkpoint!r} names no model of mmengine's "
                    f'open-mmlab table{_did_you_mean(name, get_external_models())}')
    if not checkpoint.startswith(HTTP_PREFIXES):
        if '://' in checkpoint or osp.isfile(checkpoint):
            return None
        return (f'{key}: checkpoint {checkpoint!r} does not exist'
                f'{_relative_note(checkpoint)}; either (a) give an existing '
                f'file{_pretrained_remedies(init_path)}')
    cached = hub_cache_path(checkpoint)
    if osp.isfile(cached) or os.environ.get('LOCAL_RANK', '0') != '0':
        return None
    try:
        download_to_hub_cache(checkpoint)
    except (OSError, HTTPException) as error:
        return (f'{key}: {osp.basename(cached)} is not in the torch hub '
                f'cache {osp.dirname(cached)} and downloading {checkpoint} failed '
                f'({type(error).__name__}: {error}); either (a) put it there, '
                'downloaded elsewhere, or give a local file'
                f'{_pretrained_remedies(init_path)}')
    return None


def _pretrained_remedies(init_path: str) -> str:
    """The end of a problem line: how to give another local file to the
    ``init_cfg`` at ``init_path``, or (b) train without it."""
    option = _option_key(init_path)
    return (f' with --cfg-options {option}.checkpoint=FILE, e.g. '
            "Darknet's ImageNet backbone: python "
            'tools/convert_darknet_weights.py darknet53.conv.74 '
            'checkpoints/darknet53_imagenet.pth, then --cfg-options '
            f'{option}.checkpoint=checkpoints/darknet53_imagenet.pth '
            f'{option}.prefix=backbone.; or (b) train from scratch: '
            f'--cfg-options {option}=None')
