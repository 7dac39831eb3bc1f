"""Registries of yolo_plugin, children of mmdet's (scope ``yolo_plugin``).

A config only needs ``default_scope = 'yolo_plugin'``: a type is looked up
here first and then in the mmdet / mmengine parents, so ``DetDataPreprocessor``
or ``CocoMetric`` stay reachable without a prefix. ``locations`` makes the
registry import, on first use, the modules that fill it and those that fill
its mmdet parent (a parent's lookup does not import them), so mmdet's types
resolve without mmdet's ``register_all_modules``.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNER_CONSTRUCTORS as MMDET_RUNNER_CONSTRUCTORS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

RUNNERS = Registry(
    'runner',
    parent=MMDET_RUNNERS,
    locations=['yolo_plugin.engine', 'mmdet.engine.runner'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor',
    parent=MMDET_RUNNER_CONSTRUCTORS,
    locations=['yolo_plugin.engine', 'mmdet.engine.runner'])
LOOPS = Registry(
    'loop',
    parent=MMDET_LOOPS,
    locations=['yolo_plugin.engine', 'mmdet.engine.runner'])
HOOKS = Registry(
    'hook',
    parent=MMDET_HOOKS,
    locations=['yolo_plugin.engine.hooks', 'mmdet.engine.hooks'])

DATASETS = Registry(
    'dataset',
    parent=MMDET_DATASETS,
    locations=['yolo_plugin.datasets', 'mmdet.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMDET_DATA_SAMPLERS,
    locations=['yolo_plugin.datasets', 'mmdet.datasets.samplers'])
TRANSFORMS = Registry(
    'transform',
    parent=MMDET_TRANSFORMS,
    locations=['yolo_plugin.datasets.transforms', 'mmdet.datasets.transforms'])

MODELS = Registry(
    'model', parent=MMDET_MODELS, locations=['yolo_plugin.models', 'mmdet.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMDET_MODEL_WRAPPERS,
    locations=['yolo_plugin.engine', 'mmdet.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMDET_WEIGHT_INITIALIZERS,
    locations=['yolo_plugin.models', 'mmdet.models'])
TASK_UTILS = Registry(
    'task util',
    parent=MMDET_TASK_UTILS,
    locations=['yolo_plugin.models.task_modules', 'mmdet.models'])

OPTIMIZERS = Registry(
    'optimizer',
    parent=MMDET_OPTIMIZERS,
    locations=['yolo_plugin.engine', 'mmdet.engine.optimizers'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMDET_OPTIM_WRAPPERS,
    locations=['yolo_plugin.engine', 'mmdet.engine.optimizers'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['yolo_plugin.engine', 'mmdet.engine.optimizers'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMDET_PARAM_SCHEDULERS,
    locations=['yolo_plugin.engine', 'mmdet.engine.schedulers'])

METRICS = Registry(
    'metric',
    parent=MMDET_METRICS,
    locations=['yolo_plugin.evaluation', 'mmdet.evaluation'])
EVALUATOR = Registry(
    'evaluator',
    parent=MMDET_EVALUATOR,
    locations=['yolo_plugin.evaluation', 'mmdet.evaluation'])

# mmdet's DetLocalVisualizer and the vis backends serve as they are.
VISUALIZERS = Registry(
    'visualizer', parent=MMDET_VISUALIZERS, locations=['mmdet.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMDET_VISBACKENDS, locations=['mmdet.visualization'])
LOG_PROCESSORS = Registry(
    'log_processor',
    parent=MMDET_LOG_PROCESSORS,
    locations=['yolo_plugin.engine', 'mmdet.engine'])
