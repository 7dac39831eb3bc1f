"""The YOLOv3 head: outputs, loss of a whole batch at once, and prediction."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_conv_layer
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor

from yolo_plugin.registry import MODELS, TASK_UTILS
from ..layers.bbox_nms import batched_multiclass_nms
from ..losses.iou_loss import aligned_iou
from ..task_modules.prior_generators.yolo_prior_generator import YOLOPriors
from ..utils import (DARKNET_ACT, DARKNET_NORM, pad_instances, prior_prob_logit,
                     scale_channels)
from .class_transfer import adapt_class_outputs

# The nine COCO anchors of the YOLOv3 paper, (w, h) pixels at 416 px,
# three a level, stride 32 first.
COCO_ANCHORS = (((116, 90), (156, 198), (373, 326)),
                ((30, 61), (62, 45), (59, 119)),
                ((10, 13), (16, 30), (33, 23)))


@MODELS.register_module()
class YOLOAnchorHead(BaseDenseHead):
    """YOLOv3 head: at each level a 3x3 conv (``in_channels[l] ->
    out_channels[l]``) then a 1x1 conv to ``A * (5 + K)`` outputs laid out
    per anchor as ``(tx, ty, tw, th, objectness, class_1..K)``.

    The loss works on the whole batch at once: one decode of all levels,
    one vectorised assignment (:class:`YOLOAnchorAssigner`), one gather of
    the matched predictions.

    Box losses: the paper's ``loss_xy`` (BCE on the cell offsets) plus
    ``loss_wh`` (squared error in log space), or ``loss_box`` (an IoU-family
    loss on decoded boxes), never both.

    Args:
        num_classes: ``K``.
        in_channels / out_channels: per level, stride 32 first.
        widen_factor: multiplies both, as in the backbone (small variants).
        prior_generator: the anchors, per level.
        bbox_coder: the box parametrisation (``variant='v3'`` or ``'v5'``).
        conv_cfg, norm_cfg, act_cfg: of the convs (``conv_cfg=None``:
            ``nn.Conv2d``; ``dict(type='GemmWeightGradConv2d')``: its weight
            gradient as matrix products on the CPU); the prediction convs
            have no BN or activation.
        obj_target: ``'binary'`` (1 at matches) or ``'iou'`` (the detached
            IoU of the matched prediction with its ground truth, YOLOv5).
        obj_level_weights: a factor a level on the objectness loss (YOLOv5's
            balance: ``(0.4, 1.0, 4.0)`` for strides 32, 16, 8); ``None``: 1.
        loss_reduction: ``'image_sum'`` (the paper's sums over predictions,
            averaged over the images of the batch) or ``'level_mean'``
            (YOLOv5: means over the matches, or over all predictions for
            objectness, of each level, summed over levels).
    """

    reductions = ('image_sum', 'level_mean')
    candidate_scores = ('class_prob', 'score')

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (512, 256, 128),
                 out_channels: Sequence[int] = (1024, 512, 256),
                 widen_factor: float = 1.0,
                 prior_generator: ConfigType = dict(
                     type='YOLOPriorGenerator', anchors=COCO_ANCHORS,
                     strides=(32, 16, 8)),
                 bbox_coder: ConfigType = dict(type='YOLOBoxCoder', variant='v3'),
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DARKNET_NORM,
                 act_cfg: ConfigType = DARKNET_ACT,
                 loss_cls: ConfigType = dict(type='SigmoidBCELoss', loss_weight=1.0),
                 loss_obj: ConfigType = dict(type='SigmoidBCELoss', loss_weight=1.0),
                 loss_xy: OptConfigType = dict(type='SigmoidBCELoss', loss_weight=2.0),
                 loss_wh: OptConfigType = dict(type='MSELoss', loss_weight=2.0),
                 loss_box: OptConfigType = None,
                 obj_target: str = 'binary',
                 obj_level_weights: Optional[Sequence[float]] = None,
                 loss_reduction: str = 'image_sum',
                 train_cfg: OptConfigType = dict(
                     assigner=dict(type='YOLOAnchorAssigner')),
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(out_channels):
            raise ValueError('YOLOAnchorHead: in_channels and out_channels need one '
                             'entry a level')
        if (loss_box is None) == (loss_xy is None or loss_wh is None):
            raise ValueError('YOLOAnchorHead: give either loss_box or both loss_xy '
                             'and loss_wh')
        if obj_target not in ('binary', 'iou'):
            raise ValueError(f"YOLOAnchorHead: obj_target must be 'binary' or 'iou', "
                             f'got {obj_target!r}')
        if loss_reduction not in self.reductions:
            raise ValueError(f'YOLOAnchorHead: loss_reduction must be one of '
                             f'{self.reductions}, got {loss_reduction!r}')
        self.num_classes = num_classes
        self.in_channels = tuple(scale_channels(c, widen_factor) for c in in_channels)
        self.out_channels = tuple(scale_channels(c, widen_factor) for c in out_channels)
        self.prior_generator = TASK_UTILS.build(prior_generator)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        if self.prior_generator.num_levels != len(in_channels):
            raise ValueError(
                f'YOLOAnchorHead: {len(in_channels)} levels of channels but '
                f'{self.prior_generator.num_levels} of anchors')
        self.featmap_strides = self.prior_generator.strides
        self.num_base_priors = self.prior_generator.num_base_priors
        self.num_attrib = 5 + num_classes
        if obj_level_weights is None:
            obj_level_weights = (1.0, ) * len(in_channels)
        if len(obj_level_weights) != len(in_channels):
            raise ValueError('YOLOAnchorHead: obj_level_weights needs one entry a level')
        self.register_buffer(
            'obj_level_weights', torch.tensor(obj_level_weights, dtype=torch.float32),
            persistent=False)
        self.obj_target = obj_target
        self.loss_reduction = loss_reduction

        self.loss_cls = MODELS.build(loss_cls)
        self.loss_obj = MODELS.build(loss_obj)
        self.loss_xy = MODELS.build(loss_xy) if loss_xy is not None else None
        self.loss_wh = MODELS.build(loss_wh) if loss_wh is not None else None
        self.loss_box = MODELS.build(loss_box) if loss_box is not None else None
        if self.loss_box is None:
            # Fails early for the v5 parametrisation, which has no x/y, w/h targets.
            self.bbox_coder.encode(torch.zeros(0, 4), torch.zeros(0, 2),
                                   torch.ones(0, 2), torch.ones(0))

        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.assigner = TASK_UTILS.build(train_cfg['assigner']) if train_cfg else None

        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.bridge_convs = nn.ModuleList(
            ConvModule(c_in, c_out, 3, padding=1, **common)
            for c_in, c_out in zip(self.in_channels, self.out_channels))
        self.pred_convs = nn.ModuleList(
            build_conv_layer(conv_cfg, c_out, self.num_base_priors * self.num_attrib, 1)
            for c_out in self.out_channels)

    def init_weights(self) -> None:
        """Normal(0, 0.01) prediction convs; biases from priors: objectness
        of about 8 objects in a 608 px image, class 1 / K (as in YOLOv5)."""
        super().init_weights()
        for conv, stride in zip(self.pred_convs, self.featmap_strides):
            nn.init.normal_(conv.weight, mean=0, std=0.01)
            bias = conv.bias.data.view(self.num_base_priors, self.num_attrib)
            bias[:, :4] = 0
            bias[:, 4] = prior_prob_logit(8 / (608 / stride)**2)
            bias[:, 5:] = prior_prob_logit(1 / self.num_classes)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Load as usual, after fitting prediction convs trained for another
        class count (every loading path passes here)."""
        adapt_class_outputs(self, state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[Tuple[Tensor, ...]]:
        """Neck maps, stride 32 first -> one ``(B, A * (5 + K), H_l, W_l)``
        map a level, wrapped in a 1-tuple as mmdet's ``YOLOV3Head`` does."""
        if len(x) != len(self.pred_convs):
            raise ValueError(f'YOLOAnchorHead expects {len(self.pred_convs)} maps, got {len(x)}')
        maps = tuple(pred(bridge(feat)) for feat, bridge, pred in
                     zip(x, self.bridge_convs, self.pred_convs))
        return maps,

    def flatten_preds(self, pred_maps: Sequence[Tensor], num_attrib: int = -1,
                      attribute_major: bool = False) -> Tensor:
        """Level maps -> ``(B, N, num_attrib)`` in the order of
        :class:`YOLOPriors`; ``num_attrib`` (default all ``5 + K``) keeps
        each anchor's first outputs only, copying no more than those. With
        ``attribute_major`` the result is a view of ``(num_attrib, B, N)``
        memory: each attribute a contiguous ``(B, N)`` plane, on which
        elementwise work vectorises."""
        num_attrib = self.num_attrib if num_attrib < 0 else num_attrib
        flat = []
        for m in pred_maps:
            num_imgs, _, height, width = m.shape
            m = m.view(num_imgs, self.num_base_priors, self.num_attrib, height, width)
            m = m[:, :, :num_attrib].permute(2, 0, 3, 4, 1)  # (attrib, B, H, W, A)
            flat.append(m.reshape(num_attrib, num_imgs, -1))
        if attribute_major:
            return torch.cat(flat, dim=2).permute(1, 2, 0)
        return torch.cat([level.permute(1, 2, 0) for level in flat], dim=1)

    def gather_preds(self, pred_maps: Sequence[Tensor], priors: YOLOPriors,
                     batch_idx: Tensor, prior_idx: Tensor) -> Tensor:
        """All ``5 + K`` outputs of ``P`` (image, prior) pairs, ``(P, 5 + K)``,
        read straight from the level maps (no flattened copy of the batch)."""
        level, cell_y, cell_x, anchor = priors.locate(prior_idx)
        attrib = torch.arange(self.num_attrib, device=prior_idx.device)
        channel = anchor[:, None] * self.num_attrib + attrib  # (P, 5 + K)
        out = pred_maps[0].new_zeros(len(prior_idx), self.num_attrib)
        for index, m in enumerate(pred_maps):
            # Offsets into the storage, valid for any dense memory format.
            offset = (batch_idx[:, None] * m.stride(0) + channel * m.stride(1) +
                      cell_y[:, None] * m.stride(2) + cell_x[:, None] * m.stride(3))
            in_level = (level == index)[:, None]
            storage = m.as_strided((m.numel(), ), (1, ))
            out = torch.where(in_level, storage[offset.where(in_level, 0)], out)
        return out

    def grid_priors(self, pred_maps: Sequence[Tensor]) -> YOLOPriors:
        return self.prior_generator.grid_priors(
            [m.shape[-2:] for m in pred_maps], pred_maps[0].device)

    def loss_by_feat(self,
                     pred_maps: Sequence[Tensor],
                     batch_gt_instances: List[InstanceData],
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: Optional[List[InstanceData]] = None
                     ) -> Dict[str, Tensor]:
        """Losses of a batch.

        Args:
            pred_maps: the head's maps, see :meth:`forward`.
            batch_gt_instances: per image ``bboxes (n, 4)`` xyxy input
                pixels and ``labels (n,)``.
            batch_img_metas: per image meta information (unused here).
            batch_gt_instances_ignore: per image ignored regions
                (``bboxes``), or ``None``.

        Returns:
            ``loss_cls``, ``loss_obj`` and ``loss_box`` or ``loss_xy`` and
            ``loss_wh``, each a scalar; and ``unmatched_gts``, the ground
            truths of the batch left without a prior (logged, not a loss).
        """
        num_imgs = pred_maps[0].shape[0]
        device = pred_maps[0].device
        # Losses in fp32 also under autocast (the maps are then bf16 / fp16);
        # .float() keeps the memory format.
        pred_maps = [m if m.is_contiguous() or m.is_contiguous(
            memory_format=torch.channels_last) else m.contiguous() for m in pred_maps]
        pred_maps = [m.float() for m in pred_maps]
        box_obj = self.flatten_preds(pred_maps, num_attrib=5, attribute_major=True)  # (B, N, 5)
        priors = self.grid_priors(pred_maps)
        gt_boxes, gt_labels, gt_valid = pad_instances(batch_gt_instances, num_imgs, device)
        ign_boxes, _, ign_valid = pad_instances(batch_gt_instances_ignore, num_imgs, device)

        decoded = self.bbox_coder.decode(box_obj[..., :4], priors.cells, priors.anchors,
                                         priors.strides)  # (B, N, 4)
        match = self.assigner.assign(gt_boxes, gt_valid, priors)
        b, n, g = match.batch_idx, match.prior_idx, match.gt_idx
        pos_preds = self.gather_preds(pred_maps, priors, b, n)  # (P, 5 + K)
        pos_gt_boxes = gt_boxes[b, g]  # (P, 4)
        pos_levels = priors.levels[n]

        pos_weight, obj_base_weight = self._loss_weights(priors, pos_levels, num_imgs)
        losses = dict(unmatched_gts=match.num_unmatched.float())
        labels = F.one_hot(gt_labels[b, g], self.num_classes).to(pos_preds.dtype)
        cls_weight = pos_weight[:, None]
        if self.loss_reduction == 'level_mean':
            cls_weight = cls_weight / self.num_classes
        losses['loss_cls'] = self.loss_cls(
            pos_preds[:, 5:], labels, weight=cls_weight, reduction_override='sum')

        pos_boxes = decoded[b, n]
        if self.loss_box is not None:
            losses['loss_box'] = self.loss_box(
                pos_boxes, pos_gt_boxes, weight=pos_weight, reduction_override='sum')
        else:
            xy_target, wh_target = self.bbox_coder.encode(
                pos_gt_boxes, priors.cells[n], priors.anchors[n], priors.strides[n])
            losses['loss_xy'] = self.loss_xy(
                pos_preds[:, :2], xy_target, weight=pos_weight[:, None],
                reduction_override='sum')
            losses['loss_wh'] = self.loss_wh(
                pos_preds[:, 2:4], wh_target, weight=pos_weight[:, None],
                reduction_override='sum')

        # Objectness: matched priors are positives; the others negatives,
        # except those the assigner ignores (overlapping a ground truth, or
        # inside an ignored region).
        ignored = self.assigner.ignored_negatives(decoded.detach(), gt_boxes, gt_valid,
                                                  ign_boxes, ign_valid)  # (B, N)
        obj_weight = obj_base_weight.expand(num_imgs, -1).masked_fill(ignored, 0)
        obj_weight = obj_weight.index_put((b, n), obj_base_weight[n])
        flat_pos = b * box_obj.shape[1] + n
        if self.obj_target == 'binary':
            pos_target = torch.ones_like(flat_pos, dtype=obj_weight.dtype)
        else:
            pos_target = aligned_iou(pos_boxes.detach(), pos_gt_boxes).clamp(min=0)
        # Several matches of one prior (YOLOv5 matching): the highest target.
        obj_target = torch.zeros_like(obj_weight).view(-1).scatter_reduce(
            0, flat_pos, pos_target, 'amax').view_as(obj_weight)
        losses['loss_obj'] = self.loss_obj(
            box_obj[..., 4], obj_target, weight=obj_weight, reduction_override='sum')
        return losses

    def _loss_weights(self, priors: YOLOPriors, pos_levels: Tensor,
                      num_imgs: int) -> Tuple[Tensor, Tensor]:
        """Weights that turn element sums into the configured reduction:
        ``(P,)`` for the matches and ``(N,)`` for objectness (level factor
        included)."""
        level_weights = self.obj_level_weights[priors.levels]  # (N,)
        if self.loss_reduction == 'image_sum':
            pos_weight = torch.full(pos_levels.shape, 1.0 / num_imgs,
                                    device=pos_levels.device)
            return pos_weight, level_weights / num_imgs
        num_levels = len(priors.level_sizes)
        pos_count = torch.bincount(pos_levels, minlength=num_levels).clamp(min=1)
        prior_count = torch.bincount(priors.levels, minlength=num_levels)
        return (1.0 / pos_count[pos_levels],
                level_weights / (num_imgs * prior_count[priors.levels]))

    def decode_by_feat(self, pred_maps: Sequence[Tensor], cells: Tensor, anchors: Tensor,
                       strides: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """The maps of all levels decoded at the priors ``cells``,
        ``anchors``, ``strides`` (of :meth:`grid_priors`): ``boxes (B, N, 4)``
        xyxy input pixels, ``objectness (B, N)`` and ``class_prob (B, N, K)``
        probabilities. :meth:`predict_by_feat` selects from these; the ONNX
        export traces them."""
        preds = self.flatten_preds(pred_maps)
        boxes = self.bbox_coder.decode(preds[..., :4], cells, anchors, strides)
        return boxes, preds[..., 4].float().sigmoid(), preds[..., 5:].float().sigmoid()

    def predict_by_feat(self,
                        pred_maps: Sequence[Tensor],
                        batch_img_metas: List[dict],
                        cfg: OptConfigType = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> List[InstanceData]:
        """Detections of a batch: one decode of all levels and one per-class
        NMS of all images.

        ``cfg`` (default ``test_cfg``) keys, with mmdet's ``YOLOV3Head``
        meaning and defaults, so that mmdet's YOLOv3 ``test_cfg`` gives
        mmdet's detections:

        - ``conf_thr``: candidates need an objectness of at least this;
        - ``score_thr``, ``nms_pre``: candidates need a candidate score
          above ``score_thr`` and are the ``nms_pre`` best of their image;
        - ``candidate_score``: ``'class_prob'`` (default, mmdet's): the
          candidate score is the class probability, objectness multiplies it
          afterwards; ``'score'``: it is the detection score itself,
          objectness x class probability;
        - ``min_bbox_size``: boxes need a width and height above this
          (pixels of the output); default -1, no check;
        - ``clip_to_image``: clip boxes to the image before NMS (default
          False, as mmdet);
        - ``nms=dict(iou_threshold=...)`` (``None``: no NMS), ``max_per_img``.

        ``with_nms=False``, as mmdet's, returns every candidate (best first,
        no ``max_per_img``), for test-time augmentation to merge.

        Returns:
            One ``InstanceData`` an image: ``bboxes (n, 4)`` xyxy, in
            original-image pixels with ``rescale`` else input pixels,
            ``scores (n,)`` (objectness x class probability), ``labels
            (n,)``.
        """
        cfg = self.test_cfg if cfg is None else cfg
        candidate_score = cfg.get('candidate_score', 'class_prob')
        if candidate_score not in self.candidate_scores:
            raise ValueError(f'YOLOAnchorHead: test_cfg.candidate_score must be one of '
                             f'{self.candidate_scores}, got {candidate_score!r}')
        num_imgs = pred_maps[0].shape[0]
        priors = self.grid_priors(pred_maps)
        boxes, objectness, scores = self.decode_by_feat(pred_maps, priors.cells,
                                                        priors.anchors, priors.strides)
        if candidate_score == 'score':
            scores = scores * objectness[..., None]
        conf_thr = cfg.get('conf_thr', -1)
        if conf_thr > 0:
            scores = scores.masked_fill((objectness < conf_thr)[..., None], -math.inf)
        if rescale:
            scale = boxes.new_tensor([meta['scale_factor'] for meta in batch_img_metas])
            boxes = boxes / scale.repeat(1, 2)[:, None]
        if cfg.get('clip_to_image', False):
            shape_key = 'ori_shape' if rescale else 'img_shape'
            limits = boxes.new_tensor([meta[shape_key][1::-1] for meta in batch_img_metas])
            boxes = torch.minimum(boxes.clamp(min=0), limits.repeat(1, 2)[:, None])
        nms_cfg = cfg.get('nms')
        dets = batched_multiclass_nms(
            boxes, scores,
            score_thr=cfg.get('score_thr', 0.0),
            iou_threshold=nms_cfg['iou_threshold'] if with_nms and nms_cfg else None,
            max_per_img=cfg.get('max_per_img', 100) if with_nms else -1,
            nms_pre=cfg.get('nms_pre', -1),
            score_factors=objectness if candidate_score == 'class_prob' else None,
            min_bbox_size=cfg.get('min_bbox_size', -1))
        counts = torch.bincount(dets.batch_idx, minlength=num_imgs).tolist()
        return [
            InstanceData(bboxes=img_boxes, scores=img_scores, labels=img_labels)
            for img_boxes, img_scores, img_labels in zip(
                dets.boxes.split(counts), dets.scores.split(counts),
                dets.labels.split(counts))
        ]
