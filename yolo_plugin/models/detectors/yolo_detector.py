"""YOLODetector: mmdet's single-stage detector with the speed switches of
yolo_plugin (channels-last layout, conv + BN fusion for inference)."""
import torch
from mmcv.cnn import fuse_conv_bn
from mmdet.models.detectors.single_stage import SingleStageDetector
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from yolo_plugin.registry import MODELS


@MODELS.register_module()
class YOLODetector(SingleStageDetector):
    """Backbone, neck and dense head exactly as mmdet's ``YOLOV3`` /
    ``SingleStageDetector``, plus:

    - ``channels_last``: conv weights, and so every activation map after
      the first conv, in NHWC layout, the layout oneDNN (CPU) and cuDNN
      tensor cores (AMP on a GPU) run fastest. Kept through ``init_weights``,
      checkpoint loading and ``.to(device)``, which all write in place.
    - :meth:`fuse_conv_bn`: for inference, fold every BatchNorm into the
      conv before it (one conv instead of conv + BN). Irreversible: a
      fused model refuses to go back to training.

    Args:
        channels_last: store the conv weights channels-last.
        Others: as ``SingleStageDetector``.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: OptConfigType = None,
                 bbox_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 channels_last: bool = False) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            bbox_head=bbox_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.channels_last = channels_last
        self.conv_bn_fused = False
        self._apply_memory_format()

    def _apply_memory_format(self) -> None:
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def fuse_conv_bn(self) -> 'YOLODetector':
        """Fold each BatchNorm (its running statistics and affine
        parameters) into the conv before it and put the model in eval mode.
        Returns the model. Call it after loading the weights."""
        self.eval()
        fuse_conv_bn(self)
        self._apply_memory_format()
        self.conv_bn_fused = True
        return self

    def train(self, mode: bool = True) -> 'YOLODetector':
        if mode and self.conv_bn_fused:
            raise RuntimeError(
                'YOLODetector: conv and BatchNorm were fused for inference '
                '(fuse_conv_bn); training needs the unfused model: build it '
                'again and load the checkpoint')
        return super().train(mode)
