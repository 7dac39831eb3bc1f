"""Plain, loop-based references of YOLO target assignment and losses, written
from the papers' rules, to check the vectorised code against."""
import math

ANCHORS = [[(116, 90), (156, 198), (373, 326)], [(30, 61), (62, 45), (59, 119)],
           [(10, 13), (16, 30), (33, 23)]]
STRIDES = (32, 16, 8)
IMG_H, IMG_W = 96, 160  # level sizes (3, 5), (6, 10), (12, 20)


def level_sizes(img_h=IMG_H, img_w=IMG_W):
    return [(math.ceil(img_h / s), math.ceil(img_w / s)) for s in STRIDES]


def prior_index(level, cell_x, cell_y, anchor, sizes):
    """Index in the flattened (level, y, x, anchor) order of the head."""
    offset = sum(h * w * len(ANCHORS[0]) for h, w in sizes[:level])
    return offset + (cell_y * sizes[level][1] + cell_x) * len(ANCHORS[0]) + anchor


def centre_key(b, level, a, cx, cy, sizes):
    height, width = sizes[level]
    cell_x = min(max(math.floor(cx / STRIDES[level]), 0), width - 1)
    cell_y = min(max(math.floor(cy / STRIDES[level]), 0), height - 1)
    return (b, level, cell_x, cell_y, a)


def assign(boxes_per_img, match, anchor_t=4.0, neighbor_cells=False, sizes=None,
           collisions='drop'):
    """Matches as sorted ``(image, level, cell_x, cell_y, anchor, gt)``, and
    the number of ground truths left without a prior."""
    sizes = sizes or level_sizes()
    flat_anchors = [(level, a, aw, ah) for level, row in enumerate(ANCHORS)
                    for a, (aw, ah) in enumerate(row)]
    candidates = {}  # (b, g) -> centre, anchor IoUs, worst ratios
    for b, boxes in enumerate(boxes_per_img):
        for g, (x1, y1, x2, y2) in enumerate(boxes):
            w, h = max(x2 - x1, 0.01), max(y2 - y1, 0.01)
            ious, worst = [], []
            for _, _, aw, ah in flat_anchors:
                inter = min(w, aw) * min(h, ah)
                ious.append(inter / (w * h + aw * ah - inter))
                worst.append(max(w / aw, aw / w, h / ah, ah / h))
            candidates[(b, g)] = ((x1 + x2) / 2, (y1 + y2) / 2, ious, worst)

    if match == 'max_iou':
        # Rounds over each ground truth's anchors by falling IoU: a prior goes
        # to the highest IoU among its bidders (ties: the later ground truth).
        rounds = len(flat_anchors) if collisions == 'next_anchor' else 1
        won, taken = {}, set()
        for rank in range(rounds):
            bids = {}
            for (b, g), (cx, cy, ious, _) in candidates.items():
                if (b, g) in won:
                    continue
                i = sorted(range(len(ious)), key=lambda k: (-ious[k], k))[rank]
                key = centre_key(b, *flat_anchors[i][:2], cx, cy, sizes)
                if key not in taken:
                    bids.setdefault(key, []).append((ious[i], g))
            for key, offers in bids.items():
                won[(key[0], max(offers)[1])] = key
                taken.add(key)
        matches = [key + (g, ) for (_, g), key in won.items()]
        return sorted(matches), len(candidates) - len(won)

    matches = []
    for (b, g), (cx, cy, _, worst) in candidates.items():
        chosen = [i for i, r in enumerate(worst) if r < anchor_t]
        if not chosen:
            chosen = [min(range(len(worst)), key=lambda i: (worst[i], i))]
        for i in chosen:
            level, a = flat_anchors[i][:2]
            height, width = sizes[level]
            gx, gy = cx / STRIDES[level], cy / STRIDES[level]
            cells = [(math.floor(gx), math.floor(gy))]
            if neighbor_cells:
                if gx % 1 < 0.5 and gx > 1:
                    cells.append((math.floor(gx - 0.5), math.floor(gy)))
                if gy % 1 < 0.5 and gy > 1:
                    cells.append((math.floor(gx), math.floor(gy - 0.5)))
                if (width - gx) % 1 < 0.5 and width - gx > 1:
                    cells.append((math.floor(gx + 0.5), math.floor(gy)))
                if (height - gy) % 1 < 0.5 and height - gy > 1:
                    cells.append((math.floor(gx), math.floor(gy + 0.5)))
            for cell_x, cell_y in cells:
                matches.append((b, level, min(max(cell_x, 0), width - 1),
                                min(max(cell_y, 0), height - 1), a, g))
    return sorted(matches), 0


def bce(logit, target):
    return max(logit, 0) - logit * target + math.log1p(math.exp(-abs(logit)))


def sigmoid(value):
    return 1 / (1 + math.exp(-value))


def area(box):
    return max(box[2] - box[0], 0) * max(box[3] - box[1], 0)


def intersection(a, b):
    return max(min(a[2], b[2]) - max(a[0], b[0]), 0) * max(
        min(a[3], b[3]) - max(a[1], b[1]), 0)


def iou(a, b):
    inter = intersection(a, b)
    return inter / (area(a) + area(b) - inter)


def ciou(a, b):
    """Complete IoU (Zheng et al. 2020) of two xyxy boxes."""
    plain = iou(a, b)
    enclose_w = max(a[2], b[2]) - min(a[0], b[0])
    enclose_h = max(a[3], b[3]) - min(a[1], b[1])
    centre_gap = ((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2)**2 + (
        (a[1] + a[3]) / 2 - (b[1] + b[3]) / 2)**2
    v = 4 / math.pi**2 * (math.atan((b[2] - b[0]) / (b[3] - b[1])) -
                          math.atan((a[2] - a[0]) / (a[3] - a[1])))**2
    alpha = v / (1 - plain + v)
    return plain - centre_gap / (enclose_w**2 + enclose_h**2) - alpha * v


def decode(raw, level, cell_x, cell_y, anchor, variant):
    """Box of raw outputs ``(tx, ty, tw, th)`` at a prior, xyxy pixels."""
    stride = STRIDES[level]
    aw, ah = ANCHORS[level][anchor]
    if variant == 'v3':
        cx = (sigmoid(raw[0]) + cell_x) * stride
        cy = (sigmoid(raw[1]) + cell_y) * stride
        w, h = math.exp(raw[2]) * aw, math.exp(raw[3]) * ah
    else:
        cx = (2 * sigmoid(raw[0]) - 0.5 + cell_x) * stride
        cy = (2 * sigmoid(raw[1]) - 0.5 + cell_y) * stride
        w, h = (2 * sigmoid(raw[2]))**2 * aw, (2 * sigmoid(raw[3]))**2 * ah
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def all_priors(sizes):
    for level, (height, width) in enumerate(sizes):
        for y in range(height):
            for x in range(width):
                for a in range(len(ANCHORS[level])):
                    yield level, x, y, a


def outputs(pred_maps, b, level, x, y, a, num_classes):
    attrs = 5 + num_classes
    return pred_maps[level][b, a * attrs:(a + 1) * attrs, y, x].tolist()


def is_ignored(box, gts, ignores, iou_thr, iof_thr):
    if iou_thr is not None and any(iou(box, g) > iou_thr for g in gts):
        return True
    return any(intersection(box, r) / area(box) > iof_thr for r in ignores)


def yolov3_loss(pred_maps, gts, labels, ignores, num_classes):
    """The paper's loss, summed over predictions and averaged over images:
    BCE x/y (weight 2), squared log w/h (weight 2), BCE classes, BCE
    objectness with IoU > 0.5 and ignored-region negatives left out."""
    sizes = [tuple(m.shape[-2:]) for m in pred_maps]
    num_imgs = len(gts)
    matches, _ = assign(gts, 'max_iou', sizes=sizes)
    xy = wh = cls = 0.0
    positives = set()
    for b, level, x, y, a, g in matches:
        raw = outputs(pred_maps, b, level, x, y, a, num_classes)
        x1, y1, x2, y2 = gts[b][g]
        stride = STRIDES[level]
        aw, ah = ANCHORS[level][a]
        tx = min(max((x1 + x2) / 2 / stride - x, 0), 1)
        ty = min(max((y1 + y2) / 2 / stride - y, 0), 1)
        xy += bce(raw[0], tx) + bce(raw[1], ty)
        wh += (raw[2] - math.log(max(x2 - x1, 0.01) / aw))**2
        wh += (raw[3] - math.log(max(y2 - y1, 0.01) / ah))**2
        cls += sum(bce(raw[5 + k], float(k == labels[b][g])) for k in range(num_classes))
        positives.add((b, level, x, y, a))
    obj = 0.0
    for b in range(num_imgs):
        for level, x, y, a in all_priors(sizes):
            raw = outputs(pred_maps, b, level, x, y, a, num_classes)
            if (b, level, x, y, a) in positives:
                obj += bce(raw[4], 1.0)
            elif not is_ignored(decode(raw, level, x, y, a, 'v3'), gts[b], ignores[b], 0.5, 0.5):
                obj += bce(raw[4], 0.0)
    return dict(loss_cls=cls / num_imgs, loss_xy=2 * xy / num_imgs,
                loss_wh=2 * wh / num_imgs, loss_obj=obj / num_imgs)


def yolov5_loss(pred_maps, gts, labels, ignores, num_classes, balance=(0.4, 1.0, 4.0)):
    """YOLOv5's loss: ratio matching with neighbour cells, CIoU box loss and
    class BCE averaged over each level's matches, objectness BCE against the
    matched IoU averaged over each level's predictions times ``balance``."""
    sizes = [tuple(m.shape[-2:]) for m in pred_maps]
    num_imgs = len(gts)
    matches, _ = assign(gts, 'ratio', neighbor_cells=True, sizes=sizes)
    per_level = [sum(1 for m in matches if m[1] == level) for level in range(3)]
    box = cls = 0.0
    obj_target = {}
    for b, level, x, y, a, g in matches:
        raw = outputs(pred_maps, b, level, x, y, a, num_classes)
        pred_box = decode(raw, level, x, y, a, 'v5')
        box += (1 - ciou(pred_box, gts[b][g])) / per_level[level]
        cls += sum(bce(raw[5 + k], float(k == labels[b][g]))
                   for k in range(num_classes)) / (per_level[level] * num_classes)
        key = (b, level, x, y, a)
        obj_target[key] = max(obj_target.get(key, 0.0), iou(pred_box, gts[b][g]))
    obj = 0.0
    for b in range(num_imgs):
        for level, x, y, a in all_priors(sizes):
            raw = outputs(pred_maps, b, level, x, y, a, num_classes)
            key = (b, level, x, y, a)
            if key not in obj_target and is_ignored(
                    decode(raw, level, x, y, a, 'v5'), gts[b], ignores[b], None, 0.5):
                continue
            count = sizes[level][0] * sizes[level][1] * len(ANCHORS[level]) * num_imgs
            obj += balance[level] * bce(raw[4], obj_target.get(key, 0.0)) / count
    return dict(loss_cls=cls, loss_box=box, loss_obj=obj)
