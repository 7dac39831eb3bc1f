"""What training and testing share: the work dir and the Runner."""
import os.path as osp
import uuid
from typing import Optional

from mmengine.config import Config
from mmengine.runner import Runner

from yolo_plugin.registry import RUNNERS


def set_work_dir(cfg: Config, work_dir: Optional[str] = None) -> None:
    """``work_dir`` from the argument, else the config's, else
    ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(cfg.filename))[0]
        cfg.work_dir = osp.join('./work_dirs', name)


def name_visualizer(cfg: Config) -> None:
    """Give the config's visualizer a name of its own (its name, if any,
    then a random suffix). mmengine hands back the existing instance of a
    name, and names it after the run's timestamp (whole seconds) when the
    config does not (mmdet's configs name it ``'visualizer'``): a second
    Runner of the same process would get the first one's visualizer, writing
    its logs into the first run's folder, and the hooks that ask for the
    latest visualizer (mmdet's ``DetVisualizationHook``) could get another
    one altogether."""
    visualizer = cfg.get('visualizer')
    if isinstance(visualizer, dict):
        visualizer['name'] = f"{visualizer.get('name', 'visualizer')}_{uuid.uuid4().hex}"


# The default hooks mmengine's Runner adds itself, which it removes when a
# config sets them to None (``Runner.register_default_hooks``).
RUNNER_DEFAULT_HOOKS = ('timer', 'sampler_seed', 'logger', 'param_scheduler', 'checkpoint')


def drop_disabled_hooks(cfg: Config) -> None:
    """Remove the default hooks a config sets to None. mmengine does so for
    its own five and stops with a bare AssertionError on any other name, so
    ``default_hooks = dict(ema=None)`` could not drop one of ours."""
    hooks = cfg.get('default_hooks') or {}
    for name in [name for name, hook in hooks.items()
                 if hook is None and name not in RUNNER_DEFAULT_HOOKS]:
        hooks.pop(name)


def build_runner(cfg: Config) -> Runner:
    """mmengine's Runner, or the config's ``runner_type``, with a visualizer
    of its own (:func:`name_visualizer`) and without the default hooks set
    to None (:func:`drop_disabled_hooks`)."""
    name_visualizer(cfg)
    drop_disabled_hooks(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
