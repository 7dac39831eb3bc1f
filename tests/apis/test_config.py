"""One config loader with overrides, and the data set configs inside
dataset wrappers."""
import pytest
from mmengine.config import Config

from yolo_plugin.apis import load_config, split_dataset_cfg
from yolo_plugin.apis.config import dataset_cfgs

DEMO = 'configs/yolov3_s_kitti_demo.py'


def test_missing_config_named():
    with pytest.raises(FileNotFoundError, match='configs/nope.py'):
        load_config('configs/nope.py')


def test_overrides_merge_into_a_file_or_a_config():
    cfg = load_config(DEMO, {'train_cfg.max_epochs': 3})
    assert cfg.train_cfg.max_epochs == 3
    assert load_config(cfg, {'train_cfg.max_epochs': 4}) is cfg and cfg.train_cfg.max_epochs == 4


def test_wrapped_data_sets_are_found_by_key():
    cfg = load_config(DEMO)
    kitti = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(type='RepeatDataset', times=2, dataset=kitti)
    assert split_dataset_cfg(cfg, 'train') == kitti
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=dict(type='ConcatDataset', datasets=[kitti, kitti]))
    assert [path for path, _ in dataset_cfgs(cfg.train_dataloader.dataset, 'd')] == [
        'd.dataset.datasets[0]', 'd.dataset.datasets[1]']
    with pytest.raises(ValueError, match='concatenates several data sets'):
        split_dataset_cfg(cfg, 'train')
    with pytest.raises(KeyError, match='has no test_dataloader'):
        split_dataset_cfg(Config(dict(train_dataloader=cfg.train_dataloader)), 'test')


@pytest.fixture
def format_calls(monkeypatch):
    """The texts mmengine's Config hands to yapf (one a formatting)."""
    import mmengine.config.config as mmengine_config
    calls = []
    format_code = mmengine_config.FormatCode

    def counted(text, **kwargs):
        calls.append(text)
        return format_code(text, **kwargs)

    monkeypatch.setattr(mmengine_config, 'FormatCode', counted)
    return calls


def test_config_text_is_mmengines_formatted_once(format_calls, tmp_path):
    cfg = load_config(DEMO)
    reference = Config.fromfile(DEMO).pretty_text
    assert len(format_calls) == 1
    assert [cfg.pretty_text for _ in range(3)] == [reference] * 3
    cfg.dump(str(tmp_path / 'dumped.py'))
    assert (tmp_path / 'dumped.py').read_text() == reference
    assert len(format_calls) == 2  # the reference's and ours


def test_config_text_follows_a_change(format_calls):
    cfg = load_config(DEMO)
    before = cfg.pretty_text
    cfg.train_cfg.max_epochs = 99
    after = cfg.pretty_text
    assert after != before and 'max_epochs=99' in after
    assert len(format_calls) == 2


def test_a_runners_deep_copy_keeps_the_text(format_calls, tmp_path):
    """The Runner deep-copies its config and asks for the text for its log,
    the dump and the visualizer: formatted once in all."""
    from mmengine.model import BaseModel

    from yolo_plugin.apis import build_runner
    from yolo_plugin.registry import MODELS

    @MODELS.register_module(force=True)
    class _FormatCountModel(BaseModel):

        def forward(self, inputs=None, data_samples=None, mode='tensor'):
            return inputs

    cfg = load_config(Config(dict(model=dict(type='_FormatCountModel'), work_dir=str(tmp_path),
                                  default_scope='yolo_plugin')))
    text = cfg.pretty_text
    runner = build_runner(cfg)
    runner.dump_config()
    assert type(runner.cfg).__name__ == 'FormattedOnceConfig'
    assert runner.cfg.pretty_text == text
    assert len(format_calls) == 1
