"""k-means anchors: clustering, input-scale factors, config text."""
import mmcv
import numpy as np
import pytest
import torch

from yolo_plugin.models.task_modules.assigners.yolo_anchor_assigner import wh_iou
from yolo_plugin.apis.anchors import (anchors_per_level, find_input_scale,
                                      format_anchor_config, kmeans_anchors,
                                      resize_factors)


def test_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(1)
    centres = np.array([[10., 20.], [60., 30.], [200., 120.]])
    wh = np.concatenate([c * rng.uniform(0.95, 1.05, (100, 2)) for c in centres])
    result = kmeans_anchors(wh, num_anchors=3, seed=3)
    np.testing.assert_allclose(result.anchors, centres, rtol=0.03)
    # mean best IoU, computed independently from the definition
    best = [max(min(w, a) * min(h, b) / (w * h + a * b - min(w, a) * min(h, b))
                for a, b in result.anchors) for w, h in wh]
    assert result.mean_iou == pytest.approx(np.mean(best))
    assert result.mean_iou > 0.9


def test_kmeans_anchors_sorted_by_area_and_each_a_member_mean():
    rng = np.random.default_rng(2)
    wh = rng.uniform(2, 300, (500, 2))
    result = kmeans_anchors(wh, num_anchors=9, seed=0)
    areas = result.anchors.prod(1)
    assert (np.diff(areas) >= 0).all()
    # Converged: each anchor is the mean of the boxes closest to it.
    assignment = wh_iou(torch.from_numpy(wh), torch.from_numpy(result.anchors)).argmax(1).numpy()
    for k in range(9):
        np.testing.assert_allclose(result.anchors[k], wh[assignment == k].mean(0))


def test_kmeans_needs_enough_boxes():
    with pytest.raises(ValueError, match='at least'):
        kmeans_anchors(np.array([[3., 4.], [0., 5.]]), num_anchors=2)


@pytest.mark.parametrize('keep_ratio', [True, False])
def test_resize_factors_match_mmcv(keep_ratio):
    sizes = np.array([[1242, 375], [621, 188], [2048, 1024], [300, 500]])
    scale = (1378, 416)
    factors = resize_factors(sizes, scale, keep_ratio)
    for (w, h), (fx, fy) in zip(sizes, factors):
        if keep_ratio:
            _, expected = mmcv.rescale_size((w, h), scale, return_scale=True)
            assert fx == pytest.approx(expected) and fy == pytest.approx(expected)
        else:
            assert (fx, fy) == pytest.approx((scale[0] / w, scale[1] / h))


def test_find_input_scale():
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(320, 96), keep_ratio=True)]
    assert find_input_scale(pipeline) == ((320, 96), True)
    with pytest.raises(ValueError, match='no Resize'):
        find_input_scale(pipeline[:1])


def test_anchor_config_text_round_trip():
    anchors = np.array([[5, 9], [7, 19], [15, 11], [12, 32], [27, 18], [20, 46],
                        [43, 29], [59, 44], [105.4, 46.2]])
    levels = anchors_per_level(anchors, 3)
    assert levels[0] == [(43, 29), (59, 44), (105, 46)]  # stride 32 first
    assert levels[2] == [(5, 9), (7, 19), (15, 11)]
    namespace = {}
    exec(format_anchor_config(levels, 'two\nlines'), namespace)
    assert namespace['anchors'] == levels
    assert namespace['model']['bbox_head']['prior_generator']['anchors'] == levels
    with pytest.raises(ValueError, match='split evenly'):
        anchors_per_level(anchors[:8], 3)
