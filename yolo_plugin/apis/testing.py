"""Testing a checkpoint from a config: what the flags of ``tools/test.py``
change in it (mmdet's flags)."""
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.config import Config, ConfigDict

from yolo_plugin.engine import prepare_distributed
from .config import split_dataset_cfg
from .runner import set_work_dir

RESULT_SUFFIXES = ('.pkl', '.pickle')


def tta_pipeline_from_test(pipeline: Sequence[dict],
                           scale_ratios: Sequence[float]) -> List[dict]:
    """A multi-scale + flip test-time pipeline from a test pipeline: the
    steps before its first ``Resize``, then ``TestTimeAug`` over that resize
    at each ratio times its scale, with and without a horizontal flip,
    followed by the test pipeline's remaining steps.

    Raises:
        ValueError: when the pipeline has no ``Resize`` with a ``scale``.
    """
    resizes = [i for i, step in enumerate(pipeline)
               if step['type'].endswith('Resize') and 'scale' in step]
    if not resizes:
        raise ValueError('--tta: the test pipeline has no Resize step with a scale: '
                         f'{[step["type"] for step in pipeline]}')
    index = resizes[0]
    resize = pipeline[index]
    width, height = resize['scale']
    scales = [dict(resize, scale=(round(width * r), round(height * r))) for r in scale_ratios]
    flips = [dict(type='RandomFlip', prob=1.0), dict(type='RandomFlip', prob=0.0)]
    rest = [[dict(step)] for step in pipeline[index + 1:]]
    return [*map(dict, pipeline[:index]),
            dict(type='TestTimeAug', transforms=[scales, flips, *rest])]


def enable_tta(cfg: Config) -> None:
    """Test with the config's ``tta_model`` (mmdet ``DetTTAModel``) around
    the model, on the config's ``tta_pipeline``, or when it has none on
    :func:`tta_pipeline_from_test` of its test pipeline with its
    ``tta_scale_ratios``.

    Raises:
        KeyError: when the config defines no ``tta_model``, or neither a
            ``tta_pipeline`` nor ``tta_scale_ratios``.
    """
    if not cfg.get('tta_model'):
        raise KeyError(f'{cfg.filename}: --tta needs tta_model in the config')
    dataset_cfg = split_dataset_cfg(cfg, 'test')
    if not cfg.get('tta_pipeline'):
        if not cfg.get('tta_scale_ratios'):
            raise KeyError(f'{cfg.filename}: --tta needs tta_pipeline or tta_scale_ratios '
                           'in the config')
        cfg.tta_pipeline = tta_pipeline_from_test(dataset_cfg.pipeline, cfg.tta_scale_ratios)
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    dataset_cfg.pipeline = cfg.tta_pipeline


def show_predictions(cfg: Config, show_dir: str) -> None:
    """Draw every test image's predictions into ``work_dir/<timestamp>/show_dir``
    (mmdet's ``DetVisualizationHook``)."""
    hooks = cfg.setdefault('default_hooks', ConfigDict())
    if 'visualization' not in hooks:
        raise KeyError(f'{cfg.filename}: --show-dir needs default_hooks.visualization '
                       "(type='DetVisualizationHook')")
    hooks.visualization.draw = True
    hooks.visualization.test_out_dir = show_dir


def draw_tests_only_when_asked(cfg: Config) -> None:
    """Our runtime config sets the visualization hook's ``draw`` for
    validation, but in a test mmdet's hook then draws every image (about
    0.2 s each); tests draw only into ``--show-dir`` (``test_out_dir``) or
    with ``show``."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is not None:
        hook.draw = bool(hook.get('test_out_dir') or hook.get('show'))


def dump_predictions(cfg: Config, out: str) -> None:
    """Also write the test predictions to the pickle file ``out`` (mmdet's
    ``DumpDetResults``: one dict an image), as a metric after the config's.

    Raises:
        ValueError: when ``out`` is not a ``.pkl`` / ``.pickle`` file.
    """
    if not out.endswith(RESULT_SUFFIXES):
        raise ValueError(f'--out must name a {" or ".join(RESULT_SUFFIXES)} file, got {out}')
    dump = dict(type='DumpDetResults', out_file_path=osp.abspath(out))
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator.metrics = [*evaluator.metrics, dump]
    else:
        metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        cfg.test_evaluator = [*metrics, dump]


def setup_testing(cfg: Config,
                  checkpoint: str,
                  work_dir: Optional[str] = None,
                  out: Optional[str] = None,
                  show_dir: Optional[str] = None,
                  tta: bool = False,
                  launcher: str = 'none') -> Config:
    """Ready ``cfg`` for testing ``checkpoint``, as the flags of mmdet's
    ``tools/test.py`` do: ``work_dir`` (:func:`set_work_dir`), ``out``
    (:func:`dump_predictions`), ``show_dir`` (:func:`show_predictions`; no
    drawing otherwise, :func:`draw_tests_only_when_asked`), ``tta``
    (:func:`enable_tta`) and the ``launcher`` (see
    :func:`prepare_distributed`). Returns ``cfg``, changed in place."""
    cfg.launcher = launcher
    set_work_dir(cfg, work_dir)
    cfg.load_from = checkpoint
    if out is not None:
        dump_predictions(cfg, out)
    if show_dir:
        show_predictions(cfg, show_dir)
    draw_tests_only_when_asked(cfg)
    if tta:
        enable_tta(cfg)
    prepare_distributed(cfg)
    return cfg
