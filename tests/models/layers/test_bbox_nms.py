"""Batched per-class NMS of a whole batch against mmcv's NMS run image by
image and class by class."""
import pytest
import torch
from mmcv.ops import batched_nms, nms

from yolo_plugin.models.layers import BatchedDetections, batched_multiclass_nms

BatchedDetectionsFields = BatchedDetections._fields


def reference_nms(boxes, scores, score_thr, iou_thr, max_per_img, nms_pre):
    """mmcv's NMS, one image and one class at a time, with the same
    candidate selection (top ``nms_pre`` (box, class) pairs an image)."""
    results = []
    num_classes = scores.shape[-1]
    for img_boxes, img_scores in zip(boxes, scores):
        flat = img_scores.reshape(-1)
        if 0 < nms_pre < flat.numel():
            top = flat.topk(nms_pre).indices
            mask = torch.zeros_like(flat, dtype=torch.bool)
            mask[top] = True
            flat = flat.masked_fill(~mask, -1)
        kept = []
        for cls in range(num_classes):
            cls_scores = flat.view(-1, num_classes)[:, cls]
            idx = (cls_scores > score_thr).nonzero().flatten()
            if not len(idx):
                continue
            _, keep = nms(img_boxes[idx], cls_scores[idx], iou_thr)
            kept += [(float(cls_scores[idx[k]]), int(idx[k]), cls) for k in keep]
        kept.sort(key=lambda item: -item[0])
        results.append(kept[:max_per_img])
    return results


def random_detections(seed, num_imgs=3, num_boxes=300, num_classes=4):
    generator = torch.Generator().manual_seed(seed)
    centre = torch.rand(num_imgs, num_boxes, 2, generator=generator) * 200
    size = torch.rand(num_imgs, num_boxes, 2, generator=generator) * 60 + 4
    # Clusters of near-duplicates so NMS has work to do, some off-image.
    centre[:, 1::3] = centre[:, ::3][:, :centre[:, 1::3].shape[1]] + 2
    boxes = torch.cat((centre - size / 2 - 20, centre + size / 2 - 20), -1)
    scores = torch.rand(num_imgs, num_boxes, num_classes, generator=generator)
    return boxes, scores


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('nms_pre, max_per_img', [(-1, 100), (200, 30)])
def test_same_boxes_as_per_class_mmcv_nms(seed, nms_pre, max_per_img):
    boxes, scores = random_detections(seed)
    dets = batched_multiclass_nms(boxes, scores, score_thr=0.3, iou_threshold=0.45,
                                  max_per_img=max_per_img, nms_pre=nms_pre)
    expected = reference_nms(boxes, scores, 0.3, 0.45, max_per_img, nms_pre)
    for img, img_expected in enumerate(expected):
        mine = dets.batch_idx == img
        assert mine.sum() == len(img_expected) > 0
        exp_scores = torch.tensor([s for s, _, _ in img_expected])
        exp_boxes = boxes[img][[i for _, i, _ in img_expected]]
        exp_labels = torch.tensor([c for _, _, c in img_expected])
        assert torch.equal(dets.scores[mine], exp_scores)
        assert torch.equal(dets.labels[mine], exp_labels)
        assert torch.equal(dets.boxes[mine], exp_boxes)


def test_results_grouped_by_image_best_first():
    boxes, scores = random_detections(7)
    dets = batched_multiclass_nms(boxes, scores, 0.1, 0.5, max_per_img=50)
    assert torch.equal(dets.batch_idx, dets.batch_idx.sort().values)
    for img in range(3):
        img_scores = dets.scores[dets.batch_idx == img]
        assert torch.equal(img_scores, img_scores.sort(descending=True).values)
        assert len(img_scores) == 50


def test_classes_and_images_never_suppress_each_other():
    box = torch.tensor([[10., 10., 50., 50.]])
    boxes = box.expand(2, 2, 4).clone()  # the same box twice in two images
    scores = torch.tensor([[[0.9, 0.0], [0.0, 0.8]], [[0.7, 0.0], [0.6, 0.0]]])
    dets = batched_multiclass_nms(boxes, scores, 0.05, 0.5, max_per_img=10)
    # Image 0: two classes, both kept; image 1: one class, duplicates merged.
    assert dets.batch_idx.tolist() == [0, 0, 1]
    assert dets.labels.tolist() == [0, 1, 0]
    assert dets.scores.tolist() == pytest.approx([0.9, 0.8, 0.7])


def test_no_candidates():
    boxes = torch.zeros(2, 5, 4)
    dets = batched_multiclass_nms(boxes, torch.zeros(2, 5, 3), 0.5, 0.5, max_per_img=10)
    assert dets.boxes.shape == (0, 4) and dets.labels.numel() == 0


def test_without_nms_keeps_candidates():
    boxes, scores = random_detections(3, num_imgs=2, num_boxes=20, num_classes=2)
    dets = batched_multiclass_nms(boxes, scores, 0.5, None, max_per_img=1000)
    assert len(dets.scores) == int((scores > 0.5).sum())


def test_many_candidates_run_a_class_at_a_time(monkeypatch):
    """Past the split threshold each class gets its own NMS call, with the
    same result."""
    from yolo_plugin.models.layers import bbox_nms
    boxes, scores = random_detections(11, num_imgs=2, num_boxes=400, num_classes=5)
    one_call = batched_multiclass_nms(boxes, scores, 0.2, 0.45, max_per_img=300)
    calls = []
    monkeypatch.setattr(bbox_nms, 'SPLIT_THR', 100)
    monkeypatch.setattr(bbox_nms, 'nms', lambda *a: calls.append(len(a[0])) or nms(*a))
    split = batched_multiclass_nms(boxes, scores, 0.2, 0.45, max_per_img=300)
    assert len(calls) == 5
    for field in BatchedDetectionsFields:
        assert torch.equal(getattr(one_call, field), getattr(split, field))


def test_same_as_mmcv_batched_nms_for_boxes_centred_in_the_image():
    """mmdet runs mmcv's ``batched_nms`` image by image; it separates
    classes by ``label * (max coordinate + 1)``. Boxes whose centres lie in
    the image (YOLOv3's decoding) have less than half their width and
    height at negative coordinates, too little to pass IoU 0.25 with a
    shifted box of another class: the results agree."""
    generator = torch.Generator().manual_seed(5)
    num_imgs, num_boxes, num_classes = 3, 400, 6
    centre = torch.rand(num_imgs, num_boxes, 2, generator=generator) * torch.tensor([160., 96.])
    size = torch.rand(num_imgs, num_boxes, 2, generator=generator) * 300 + 2
    boxes = torch.cat((centre - size / 2, centre + size / 2), -1)
    scores = torch.rand(num_imgs, num_boxes, num_classes, generator=generator)
    dets = batched_multiclass_nms(boxes, scores, 0.3, 0.45, max_per_img=-1)
    for img in range(num_imgs):
        box_idx, labels = (scores[img] > 0.3).nonzero(as_tuple=True)
        _, keep = batched_nms(boxes[img, box_idx], scores[img, box_idx, labels], labels,
                              dict(type='nms', iou_threshold=0.45))
        mine = dets.batch_idx == img
        assert torch.equal(dets.labels[mine], labels[keep])
        assert torch.equal(dets.boxes[mine], boxes[img, box_idx[keep]])


def test_classes_never_suppress_each_other_at_negative_coordinates():
    """Where mmcv's offsets overlap: a class-1 box at negative coordinates
    lands on a class-0 box at the maximum coordinate."""
    boxes = torch.tensor([[[60., 60., 100., 100.], [-41., -41., -1., -1.]]])
    scores = torch.tensor([[[0.9, 0.0], [0.0, 0.8]]])
    _, mmcv_keep = batched_nms(boxes[0], scores[0].max(1).values, torch.tensor([0, 1]),
                               dict(type='nms', iou_threshold=0.5))
    assert mmcv_keep.tolist() == [0]
    dets = batched_multiclass_nms(boxes, scores, 0.05, 0.5, max_per_img=10)
    assert dets.labels.tolist() == [0, 1]
