"""ONNX Runtime as a backend of ``tools/test.py`` and ``tools/infer.py``: an
exported model as an mmengine model whose ``test_step`` takes the batches
of the config's test pipeline and returns ``DetDataSample`` predictions in
original-image pixels, so that the config's evaluator, the visualizer and
the inference API run on it unchanged (mmdeploy's backend models, in small).
"""
from typing import List, Optional, Union

import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from yolo_plugin.apis.config import load_config, split_dataset_cfg
from yolo_plugin.apis.inference import dataset_meta_of
from yolo_plugin.registry import MODELS
from .onnx_runner import ONNXDetector, Preprocess, pad_to_input


@MODELS.register_module()
class ONNXRuntimeDetector(BaseModel):
    """A model written by ``tools/export_onnx.py`` on ONNX Runtime's CPU
    provider, predicting only.

    ``inputs`` are the test pipeline's images, ``(3, h, w)`` uint8 BGR
    resized (and padded) as the export's metadata says (see
    :func:`use_export_preprocess`); each is padded to the graph's input size
    and the boxes are scaled back with the samples' ``scale_factor`` (and
    clipped to their ``ori_shape`` under ``test_cfg.clip_to_image``).

    Args:
        onnx_file: the exported model (fp32 or int8).
        num_threads: ONNX Runtime intra-op threads; default torch's
            (``torch.get_num_threads()``: ``OMP_NUM_THREADS`` or the cores),
            so that both backends of a tool use the same; 0 lets ONNX
            Runtime choose.
        batch_size: images a run of a ``--dynamic-batch`` model.
    """

    def __init__(self, onnx_file: str, num_threads: Optional[int] = None, batch_size: int = 8,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.onnx_file = onnx_file
        if num_threads is None:
            num_threads = torch.get_num_threads()
        self.detector = ONNXDetector(onnx_file, num_threads=num_threads, batch_size=batch_size)

    def forward(self, inputs: List[torch.Tensor], data_samples: List[DetDataSample],
                mode: str = 'predict') -> List[DetDataSample]:
        """``data_samples`` with ``pred_instances`` (``bboxes (n, 4)`` xyxy
        original-image pixels, ``scores (n,)``, ``labels (n,)``)."""
        if mode != 'predict':
            raise ValueError(f'{self.onnx_file}: an ONNX model only predicts, not {mode!r}')
        try:
            images = [pad_to_input(image.permute(1, 2, 0).cpu().numpy(),
                                   self.detector.preprocess) for image in inputs]
        except ValueError as error:
            raise ValueError(f'{self.onnx_file}: {error}; the test pipeline must resize as '
                             'the export (use_export_preprocess)') from error
        for sample, dets in zip(data_samples, self.detector.run(images)):
            dets = self.detector.to_image_pixels(dets, sample.ori_shape, sample.scale_factor)
            sample.pred_instances = InstanceData(bboxes=torch.from_numpy(dets.boxes),
                                                 scores=torch.from_numpy(dets.scores),
                                                 labels=torch.from_numpy(dets.labels))
        return data_samples


def use_export_preprocess(cfg: Config, preprocess: Preprocess) -> None:
    """Make the ``Resize`` steps of the config's test pipeline resize as the
    exported graph expects (scale, ``keep_ratio``, interpolation), which an
    ``--img-size`` export changes."""
    for step in split_dataset_cfg(cfg, 'test').pipeline:
        if str(step['type']).split('.')[-1] == 'Resize':
            step.update(scale=tuple(preprocess.resize_scale), keep_ratio=preprocess.keep_ratio,
                        interpolation=preprocess.interpolation)


def use_onnx_model(cfg: Config, onnx_file: str, batch_size: int = 8) -> None:
    """Test ``onnx_file`` instead of the config's model: ``cfg.model`` an
    :class:`ONNXRuntimeDetector`, the test pipeline resizing as the export,
    no checkpoint to load and no EMA hook (nothing to average)."""
    use_export_preprocess(cfg, ONNXDetector(onnx_file).preprocess)
    cfg.model = ConfigDict(type='ONNXRuntimeDetector', onnx_file=onnx_file,
                           batch_size=batch_size)
    cfg.load_from = None
    cfg.get('default_hooks', {}).pop('ema', None)


def load_onnx_detector(config: Union[str, Config], onnx_file: str,
                       cfg_options: Optional[dict] = None,
                       batch_size: int = 8) -> ONNXRuntimeDetector:
    """:func:`yolo_plugin.apis.load_detector` for an exported model: the
    :class:`ONNXRuntimeDetector` with ``model.cfg`` (the config, its test
    pipeline resizing as the export) and ``model.dataset_meta`` (the
    export's classes, with the config data set's palette when they are its
    classes), for :func:`yolo_plugin.apis.infer`."""
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'yolo_plugin'))
    model = ONNXRuntimeDetector(onnx_file, batch_size=batch_size)
    use_export_preprocess(cfg, model.detector.preprocess)
    meta = dataset_meta_of(cfg, {})
    if list(meta['classes']) != model.detector.classes:
        meta = dict(classes=model.detector.classes)
    model.cfg = cfg
    model.dataset_meta = meta
    return model.eval()
