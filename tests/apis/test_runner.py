"""build_runner: each Runner gets a visualizer of its own; default hooks set
to None are dropped, ours as mmengine's."""
import os.path as osp
import time

from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.visualization import Visualizer

from yolo_plugin.apis import build_runner
from yolo_plugin.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@MODELS.register_module(force=True)
class _NoOpModel(BaseModel):

    def forward(self, inputs=None, data_samples=None, mode='tensor'):
        return inputs


def test_runners_of_one_second_keep_their_visualizers(tmp_path, monkeypatch):
    """Two Runners of one process, built in the same second, their configs
    naming the visualizer as mmdet's do, with a plain Visualizer made in
    between (what the test suite does): without a name of its own the second
    Runner got the first one's visualizer (logging into the first run's
    folder), and mmdet's DetVisualizationHook (which asks for the latest)
    got the plain one."""
    monkeypatch.setattr(time, 'time', lambda: 1.7e9)
    runners = []
    for index in range(2):
        cfg = Config(dict(model=dict(type='_NoOpModel'), work_dir=str(tmp_path / str(index)),
                          default_scope='yolo_plugin',
                          visualizer=dict(type='DetLocalVisualizer', name='visualizer',
                                          vis_backends=[dict(type='LocalVisBackend')])))
        runners.append(build_runner(cfg))
        assert Visualizer.get_current_instance() is runners[-1].visualizer
        Visualizer.get_instance(f'plain_{index}_{id(runners)}')
    first, second = runners
    assert first.timestamp == second.timestamp
    assert second.visualizer is not first.visualizer
    backends = list(second.visualizer._vis_backends.values())
    assert backends and all(backend._save_dir.startswith(str(tmp_path / '1'))
                            for backend in backends)
    assert type(second.visualizer).__name__ == 'DetLocalVisualizer'


def test_default_hooks_set_to_none_are_dropped(tmp_path):
    """``default_hooks = dict(ema=None)`` (a hook of ours) and
    ``timer=None`` (one of mmengine's) both remove the hook; the others of
    the base runtime stay."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'default_runtime.py'))
    cfg.merge_from_dict(dict(model=dict(type='_NoOpModel'), work_dir=str(tmp_path),
                             default_hooks=dict(ema=None, timer=None)))
    names = {type(hook).__name__ for hook in build_runner(cfg).hooks}
    assert 'EMAHook' not in names and 'IterTimerHook' not in names
    assert {'ThroughputHook', 'NaNGuardHook', 'CheckpointHook', 'LoggerHook'} <= names
