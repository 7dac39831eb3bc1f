# The paper's COCO anchors (pixels at 416) instead of the KITTI anchors of
# yolov3_kitti.py, which tools/kmeans_anchors.py fitted (k-means, 1 - IoU
# distance, on the data set's boxes at the input scale); to refit them on
# your data: python tools/kmeans_anchors.py configs/yolov3_kitti.py
_base_ = '../yolov3_kitti.py'

anchors = [[(116, 90), (156, 198), (373, 326)],
           [(30, 61), (62, 45), (59, 119)],
           [(10, 13), (16, 30), (33, 23)]]
model = dict(bbox_head=dict(prior_generator=dict(anchors=anchors)))
