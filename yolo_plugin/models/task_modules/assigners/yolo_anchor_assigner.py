"""Vectorised target assignment of YOLOv3 and YOLOv5, for a whole batch."""
from typing import NamedTuple, Optional

import torch

from yolo_plugin.registry import TASK_UTILS
from ..prior_generators.yolo_prior_generator import YOLOPriors


class YOLOAssignment(NamedTuple):
    """``P`` (image, prior, ground truth) matches of a batch."""
    batch_idx: torch.Tensor  # (P,) image of the match
    prior_idx: torch.Tensor  # (P,) prior index in [0, N), see YOLOPriors
    gt_idx: torch.Tensor  # (P,) index into the padded ground truths (B, G)
    num_unmatched: torch.Tensor  # () valid ground truths left without a prior


def wh_iou(wh: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """IoU of boxes and anchors sharing one centre: ``wh (..., 2)`` and
    ``anchors (M, 2)`` in pixels -> ``(..., M)``."""
    inter = torch.minimum(wh[..., None, :], anchors).prod(-1)
    union = wh.prod(-1)[..., None] + anchors.prod(-1) - inter
    return inter / union.clamp(min=1e-9)


@TASK_UTILS.register_module()
class YOLOAnchorAssigner:
    """Matches ground truths to the priors of all levels of a batch at once.

    ``match='max_iou'`` (YOLOv3): a ground truth goes to the one anchor, of
    all levels, with the highest width/height IoU, at the cell holding its
    centre. When several ground truths claim one prior, the one with the
    highest anchor IoU keeps it (ties: the later one). The others are
    dropped, as in the paper, and counted in ``num_unmatched``
    (``collisions='drop'``), or try their next-best anchors in turn, at
    their centre cells, for priors still free (``collisions='next_anchor'``).

    ``match='ratio'`` (YOLOv5): a ground truth goes to every anchor of every
    level whose width and height ratios both lie within ``1 / anchor_t`` and
    ``anchor_t``; one that fits no anchor takes its best-fitting one, so no
    ground truth is ever left without a prior. Several ground truths may
    share a prior. ``neighbor_cells=True`` (YOLOv5) also uses the cells next
    to the centre cell on the sides the centre leans to.

    Args:
        ignore_iou_thr: a non-matched prediction whose box overlaps any
            ground truth by more than this IoU gets no objectness loss
            (YOLOv3: 0.5; ``None`` turns this off).
        ignore_iof_thr: a non-matched prediction whose box lies inside an
            ignored region (KITTI DontCare, Cityscapes groups) by more than
            this fraction of its own area gets no objectness loss.
    """

    matches = ('max_iou', 'ratio')
    collision_rules = ('drop', 'next_anchor')

    def __init__(self,
                 match: str = 'max_iou',
                 anchor_t: float = 4.0,
                 neighbor_cells: bool = False,
                 collisions: str = 'drop',
                 ignore_iou_thr: Optional[float] = 0.5,
                 ignore_iof_thr: Optional[float] = 0.5) -> None:
        if match not in self.matches:
            raise ValueError(f'YOLOAnchorAssigner: match must be one of '
                             f'{self.matches}, got {match!r}')
        if collisions not in self.collision_rules:
            raise ValueError(f'YOLOAnchorAssigner: collisions must be one of '
                             f'{self.collision_rules}, got {collisions!r}')
        if anchor_t <= 1:
            raise ValueError(f'YOLOAnchorAssigner: anchor_t must exceed 1, got {anchor_t}')
        if neighbor_cells and match != 'ratio':
            raise ValueError("YOLOAnchorAssigner: neighbor_cells needs match='ratio'")
        for name, thr in (('ignore_iou_thr', ignore_iou_thr), ('ignore_iof_thr', ignore_iof_thr)):
            if thr is not None and not 0 <= thr <= 1:
                raise ValueError(f'YOLOAnchorAssigner: {name} must be in [0, 1] or None, '
                                 f'got {thr}')
        self.match = match
        self.anchor_t = anchor_t
        self.neighbor_cells = neighbor_cells
        self.collisions = collisions
        self.ignore_iou_thr = ignore_iou_thr
        self.ignore_iof_thr = ignore_iof_thr

    def assign(self, gt_boxes: torch.Tensor, gt_valid: torch.Tensor,
               priors: YOLOPriors) -> YOLOAssignment:
        """Positive matches of a batch.

        Args:
            gt_boxes: ``(B, G, 4)`` ground truths, xyxy input pixels, padded.
            gt_valid: ``(B, G)`` bool, False on the padding.
            priors: the priors of the batch's feature maps.
        """
        centre = (gt_boxes[..., :2] + gt_boxes[..., 2:]) / 2  # (B, G, 2)
        size = (gt_boxes[..., 2:] - gt_boxes[..., :2]).clamp(min=0.01)  # (B, G, 2)
        all_anchors = priors.level_anchors.reshape(-1, 2)  # (L*A, 2)
        if self.match == 'max_iou':
            return self._assign_best_anchor(centre, wh_iou(size, all_anchors), gt_valid,
                                            priors)
        return self._assign_by_ratio(centre, size[..., None, :] / all_anchors, gt_valid, priors)

    def _assign_best_anchor(self, centre: torch.Tensor, anchor_iou: torch.Tensor,
                            gt_valid: torch.Tensor, priors: YOLOPriors) -> YOLOAssignment:
        """One prior a ground truth, one ground truth a prior, resolved in
        rounds over each ground truth's anchors by falling IoU; every round
        works on the whole ``(B, G)`` grid at once."""
        num_imgs, num_gts = gt_valid.shape
        num_priors = len(priors.levels)
        rounds = anchor_iou.shape[-1] if self.collisions == 'next_anchor' else 1
        ranked_iou, ranked_anchor = anchor_iou.sort(dim=-1, descending=True, stable=True)
        img_offset = torch.arange(num_imgs, device=centre.device)[:, None] * num_priors
        gt_index = torch.arange(num_gts, device=centre.device).expand(num_imgs, -1)
        taken = torch.zeros(num_imgs * num_priors, dtype=torch.long, device=centre.device)
        matched_prior = torch.full_like(gt_index, -1)
        for rank in range(rounds):
            iou = ranked_iou[..., rank]
            prior = self._centre_prior(centre, ranked_anchor[..., rank], priors)  # (B, G)
            key = (img_offset + prior).flatten()
            bidding = (gt_valid & (matched_prior < 0)).flatten() & (taken[key] == 0)
            # Highest IoU wins a prior; among equal IoUs the later ground truth.
            best_iou = torch.full_like(taken, -1, dtype=iou.dtype).scatter_reduce(
                0, key, iou.flatten().where(bidding, -1), 'amax')
            bidding &= iou.flatten() == best_iou[key]
            best_gt = torch.full_like(taken, -1).scatter_reduce(
                0, key, gt_index.flatten().where(bidding, -1), 'amax')
            won = (bidding & (gt_index.flatten() == best_gt[key])).view_as(gt_index)
            matched_prior = prior.where(won, matched_prior)
            taken = taken.scatter_reduce(0, key, won.flatten().long(), 'amax')
        batch_idx, gt_idx = (matched_prior >= 0).nonzero(as_tuple=True)
        return YOLOAssignment(batch_idx, matched_prior[batch_idx, gt_idx], gt_idx,
                              (gt_valid & (matched_prior < 0)).sum())

    def _centre_prior(self, centre: torch.Tensor, flat_anchor: torch.Tensor,
                      priors: YOLOPriors) -> torch.Tensor:
        """Prior index of each ground truth's centre cell for the anchor
        ``flat_anchor`` (index over all levels' anchors), same shape."""
        num_anchors = priors.level_anchors.shape[1]
        level = flat_anchor // num_anchors
        grid_wh = priors.level_grid_wh[level]  # (..., 2)
        cells = (centre / priors.level_strides[level][..., None]).floor().long()
        cells = torch.minimum(cells.clamp(min=0), grid_wh - 1)
        return priors.prior_index(level, cells, flat_anchor % num_anchors)

    def _assign_by_ratio(self, centre: torch.Tensor, ratio: torch.Tensor,
                         gt_valid: torch.Tensor, priors: YOLOPriors) -> YOLOAssignment:
        """Every anchor within ``anchor_t`` (else the best one), at the centre
        cell and, optionally, its neighbours. ``ratio``: ``(B, G, L*A, 2)``."""
        num_anchors = priors.level_anchors.shape[1]
        worst_ratio = torch.maximum(ratio, 1 / ratio).amax(-1)  # (B, G, L*A)
        chosen = worst_ratio < self.anchor_t
        chosen.scatter_(-1, worst_ratio.argmin(-1, keepdim=True), True)
        chosen &= gt_valid[..., None]

        batch_idx, gt_idx, flat_anchor = chosen.nonzero(as_tuple=True)  # (P0,)
        level = flat_anchor // num_anchors
        grid_xy = centre[batch_idx, gt_idx] / priors.level_strides[level][:, None]
        grid_wh = priors.level_grid_wh[level]  # (P0, 2) cells across, down
        cells, cell_valid = self._candidate_cells(grid_xy, grid_wh)  # (P0, C, 2), (P0, C)
        cells = torch.minimum(cells.clamp(min=0), grid_wh[:, None] - 1)
        keep_row, keep_cell = cell_valid.nonzero(as_tuple=True)
        cells = cells[keep_row, keep_cell]  # (P, 2)
        level, flat_anchor = level[keep_row], flat_anchor[keep_row]
        prior_idx = priors.prior_index(level, cells, flat_anchor % num_anchors)
        return YOLOAssignment(batch_idx[keep_row], prior_idx, gt_idx[keep_row],
                              gt_valid.new_zeros((), dtype=torch.long))

    def _candidate_cells(self, grid_xy: torch.Tensor, grid_wh: torch.Tensor):
        """Cells a match may use: ``(P0, C, 2)`` cell (x, y), long, and
        ``(P0, C)`` validity; ``C`` is 1 (the centre cell), or 5 with
        neighbours.

        YOLOv5's rule: the centre shifted by half a cell left, up, right and
        down, each kept where the centre leans that way and the shifted
        cell lies inside the grid.
        """
        if not self.neighbor_cells:
            return (grid_xy.floor().long()[:, None],
                    torch.ones_like(grid_xy[:, :1], dtype=torch.bool))
        shifts = grid_xy.new_tensor([[0, 0], [0.5, 0], [0, 0.5], [-0.5, 0], [0, -0.5]])
        cells = (grid_xy[:, None] - shifts).floor().long()
        to_end = grid_wh - grid_xy
        before = (grid_xy % 1 < 0.5) & (grid_xy > 1)  # (P0, 2) left, up
        after = (to_end % 1 < 0.5) & (to_end > 1)  # (P0, 2) right, down
        valid = torch.cat((torch.ones_like(before[:, :1]), before, after), 1)
        return cells, valid

    def ignored_negatives(self, pred_boxes: torch.Tensor, gt_boxes: torch.Tensor,
                          gt_valid: torch.Tensor, ignore_boxes: torch.Tensor,
                          ignore_valid: torch.Tensor) -> torch.Tensor:
        """Predictions that must not be trained as negatives.

        Args:
            pred_boxes: ``(B, N, 4)`` decoded predictions, xyxy pixels.
            gt_boxes / gt_valid: ``(B, G, 4)`` / ``(B, G)``, padded.
            ignore_boxes / ignore_valid: ``(B, M, 4)`` / ``(B, M)`` ignored
                regions, padded.

        Returns:
            ``(B, N)`` bool; the caller keeps matched priors as positives.
        """
        # (4, B, 1, N) planes: the long prediction axis innermost vectorises well.
        planes = pred_boxes.permute(2, 0, 1).contiguous()[:, :, None]
        ignored = torch.zeros(pred_boxes.shape[:2], dtype=torch.bool,
                              device=pred_boxes.device)
        if self.ignore_iou_thr is not None and gt_boxes.shape[1] > 0:
            ignored |= overlap_exceeds(planes, gt_boxes, gt_valid, 'iou', self.ignore_iou_thr)
        if self.ignore_iof_thr is not None and ignore_boxes.shape[1] > 0:
            ignored |= overlap_exceeds(planes, ignore_boxes, ignore_valid, 'iof',
                                       self.ignore_iof_thr)
        return ignored


def overlap_exceeds(planes: torch.Tensor, boxes: torch.Tensor, valid: torch.Tensor,
                    mode: str, thr: float) -> torch.Tensor:
    """Whether each prediction's IoU (``mode='iou'``) or intersection over
    its own area (``'iof'``) with some valid box of its image exceeds
    ``thr`` in ``[0, 1]`` (the assigner checks it).

    Compared without a division: ``inter / union > t`` is ``inter - s *
    area_g > s * area_p`` with ``s = t / (1 + t)``, and ``inter / area_p >
    t`` is ``inter > t * area_p``; the ``(B, M, N)`` work is the
    intersection (computed in place: two ``(B, M, N)`` buffers in all), one
    subtraction and one comparison. Invalid boxes are zeroed: they
    intersect nothing.

    Args:
        planes: ``(4, B, 1, N)`` predictions, coordinate planes x1, y1, x2, y2.
        boxes: ``(B, M, 4)``; valid: ``(B, M)``.

    Returns:
        ``(B, N)`` bool.
    """
    px1, py1, px2, py2 = planes
    boxes = boxes * valid[..., None]
    gx1, gy1, gx2, gy2 = boxes.permute(2, 0, 1)[..., None]  # each (B, M, 1)
    inter = torch.minimum(px2, gx2).sub_(torch.maximum(px1, gx1)).clamp_(min=0)
    inter.mul_(torch.minimum(py2, gy2).sub_(torch.maximum(py1, gy1)).clamp_(min=0))  # (B, M, N)
    pred_area = (px2 - px1).clamp_(min=0).mul_((py2 - py1).clamp_(min=0))  # (B, 1, N)
    if mode == 'iou':
        scale = thr / (1 + thr)
        gt_area = (gx2 - gx1).clamp_(min=0).mul_((gy2 - gy1).clamp_(min=0))  # (B, M, 1)
        inter.sub_(gt_area.mul_(scale))
    else:
        scale = thr
    return (inter > pred_area.mul_(scale)).any(1)
