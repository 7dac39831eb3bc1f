"""The post-processing part of the graph against the head's
``predict_by_feat`` on the same decoded outputs, for each ``test_cfg``
semantics it implements."""
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict

pytest.importorskip('onnx', reason='the deploy extra: pip install -e .[deploy]')
ort = pytest.importorskip('onnxruntime', reason='the deploy extra: pip install -e .[deploy]')

from yolo_plugin.deploy.postprocess import (OUTPUT_NAMES, RAW_NAMES, ExportError,  # noqa: E402
                                            PostprocessSettings, postprocess_model)
from .pytorch_reference import INPUT_SIZE, compare_detections, random_demo_model  # noqa: E402

NUM_IMAGES = 3
IOU = dict(iou_threshold=0.45)
TEST_CFGS = {
    # predict_by_feat's defaults: class_prob candidates, score_thr 0, all pairs.
    'defaults': dict(nms=IOU),
    'class_prob, conf_thr, nms_pre binding': dict(
        candidate_score='class_prob', conf_thr=0.3, score_thr=0.05, nms_pre=500, nms=IOU,
        max_per_img=300),
    'score, clipped, max_per_img binding': dict(
        candidate_score='score', score_thr=0.01, clip_to_image=True, min_bbox_size=0,
        nms=dict(iou_threshold=0.5), max_per_img=20),
    'class_prob, clipped, min_bbox_size': dict(
        clip_to_image=True, min_bbox_size=24, score_thr=0.1, nms_pre=3000,
        nms=dict(iou_threshold=0.3)),
    'score, no NMS': dict(candidate_score='score', score_thr=0.2, nms=None, max_per_img=50),
    'score, nms_pre below max_per_img (padded rows)': dict(
        candidate_score='score', nms_pre=40, nms=IOU, max_per_img=100),
    'no candidate': dict(candidate_score='score', score_thr=0.9999, nms=IOU, max_per_img=10),
    'score, nms_pre 1 (the best pair)': dict(candidate_score='score', nms_pre=1, nms=IOU),
    'nms_pre 0 (all pairs)': dict(nms_pre=0, score_thr=0.3, nms=IOU),
}


@pytest.fixture(scope='module')
def head_outputs():
    """The random demo model's head maps on noise images, and their decode."""
    model = random_demo_model(seed=1)
    images = torch.rand(NUM_IMAGES, 3, *INPUT_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        (pred_maps, ) = model.bbox_head(model.extract_feat(images))
        priors = model.bbox_head.grid_priors(pred_maps)
        decoded = model.bbox_head.decode_by_feat(pred_maps, priors.cells, priors.anchors,
                                                 priors.strides)
    return model.bbox_head, pred_maps, [tensor.numpy() for tensor in decoded]


def run_postprocess(test_cfg: dict, decoded, num_classes: int) -> dict:
    settings = PostprocessSettings.from_test_cfg(test_cfg, 'test')
    model = postprocess_model(settings, decoded[0].shape[1], num_classes, INPUT_SIZE,
                              dynamic_batch=True, opset=18, ir_version=10)
    session = ort.InferenceSession(model.SerializeToString())
    return dict(zip(OUTPUT_NAMES, session.run(None, dict(zip(RAW_NAMES, decoded)))))


@pytest.mark.filterwarnings('ignore:.*min_bbox_size=24 is applied in input pixels')
@pytest.mark.parametrize('name', list(TEST_CFGS))
def test_postprocess_equals_predict_by_feat(head_outputs, name):
    head, pred_maps, decoded = head_outputs
    test_cfg = TEST_CFGS[name]
    metas = [dict(img_shape=INPUT_SIZE)] * NUM_IMAGES
    with torch.no_grad():
        expected = head.predict_by_feat(pred_maps, metas, cfg=ConfigDict(test_cfg))
    out = run_postprocess(test_cfg, decoded, head.num_classes)

    max_per_img = test_cfg.get('max_per_img', 100)
    assert out['num_dets'].shape == (NUM_IMAGES, )
    assert out['boxes'].shape == (NUM_IMAGES, max_per_img, 4)
    assert out['scores'].shape == out['labels'].shape == (NUM_IMAGES, max_per_img)
    for index, pred in enumerate(expected):
        count = int(out['num_dets'][index])
        actual = {key: out[key][index, :count] for key in ('boxes', 'scores', 'labels')}
        compare_detections(dict(boxes=pred.bboxes.numpy(), scores=pred.scores.numpy(),
                                labels=pred.labels.numpy()), actual,
                           box_tol=1e-5, score_tol=1e-6)
        assert (out['scores'][index, count:] == 0).all()
        assert (out['boxes'][index, count:] == 0).all()
        assert (out['labels'][index, count:] == -1).all()


def candidate_scores(decoded, test_cfg: dict) -> np.ndarray:
    """``(B, P*K)`` candidate scores as the test_cfg ranks pairs for nms_pre."""
    _, objectness, class_prob = decoded
    scores = class_prob
    if test_cfg.get('candidate_score') == 'score':
        scores = class_prob * objectness[..., None]
    scores = np.where(objectness[..., None] < test_cfg.get('conf_thr', 0), -np.inf, scores)
    return scores.reshape(NUM_IMAGES, -1)


def test_the_cases_bind(head_outputs):
    """The limits the cases above name do change the result, and the
    nms_pre cut never falls between equal scores (whose order torch.topk
    leaves unspecified)."""
    head, pred_maps, decoded = head_outputs
    metas = [dict(img_shape=INPUT_SIZE)] * NUM_IMAGES
    counts = {
        name: [len(pred) for pred in head.predict_by_feat(pred_maps, metas, ConfigDict(test_cfg))]
        for name, test_cfg in TEST_CFGS.items()}
    for test_cfg in TEST_CFGS.values():
        nms_pre = test_cfg.get('nms_pre', -1)
        if nms_pre > 0:
            ranked = -np.sort(-candidate_scores(decoded, test_cfg), axis=1)
            assert (ranked[:, nms_pre] > test_cfg.get('score_thr', 0)).all()  # binding
            assert (ranked[:, nms_pre - 1] > ranked[:, nms_pre]).all()  # no tie at the cut
    assert counts['score, clipped, max_per_img binding'] == [20] * NUM_IMAGES
    assert max(counts['score, nms_pre below max_per_img (padded rows)']) < 100
    assert counts['no candidate'] == [0] * NUM_IMAGES
    assert min(min(per_img) for name, per_img in counts.items() if name != 'no candidate') > 0


@pytest.mark.parametrize('test_cfg, message', [
    (dict(max_per_img=0), 'my_config.py: test_cfg.max_per_img must be a positive int to export '
     '(the outputs have that many rows), got 0'),
    (dict(max_per_img=10.0), 'my_config.py: test_cfg.max_per_img must be a positive int to '
     'export (the outputs have that many rows), got 10.0'),
    (dict(nms=dict(type='nms')), 'my_config.py: test_cfg.nms has no iou_threshold'),
    (dict(candidate_score='objectness'), "my_config.py: test_cfg.candidate_score must be one "
     "of ('class_prob', 'score') to export, got 'objectness'"),
    (None, 'my_config.py: model.test_cfg is missing; the exported graph applies its '
     'thresholds, nms and max_per_img')],
    ids=['max_per_img', 'max_per_img float', 'nms', 'candidate_score', 'none'])
def test_refuses_test_cfg(test_cfg, message):
    with pytest.raises(ExportError) as error:
        PostprocessSettings.from_test_cfg(test_cfg, 'my_config.py')
    assert str(error.value) == message


def test_settings_of_a_test_cfg():
    """Keys as predict_by_feat reads them: max_per_img 1 is allowed, the
    IoU threshold is nms's (a top-level ``iou_threshold`` means nothing to
    predict_by_feat), unknown keys are passed over."""
    settings = PostprocessSettings.from_test_cfg(
        dict(max_per_img=1, iou_threshold=0.9, nms=dict(type='nms', iou_threshold=0.5),
             score_thr=0.2, nms_pre=7, conf_thr=0.1, candidate_score='score',
             clip_to_image=True, min_bbox_size=0, rescale=True), 'my_config.py')
    assert settings == PostprocessSettings(
        candidate_score='score', conf_thr=0.1, score_thr=0.2, nms_pre=7, min_bbox_size=0,
        clip_to_image=True, iou_threshold=0.5, max_per_img=1)
    assert PostprocessSettings.from_test_cfg({}, 'x.py') == PostprocessSettings()


@pytest.mark.filterwarnings('error')
def test_warns_min_bbox_size_in_input_pixels():
    """Only a size check above 0 depends on the pixels it is counted in."""
    for min_bbox_size in (-1, 0):
        PostprocessSettings.from_test_cfg(dict(min_bbox_size=min_bbox_size), 'my_config.py')
    with pytest.warns(UserWarning) as record:
        PostprocessSettings.from_test_cfg(dict(min_bbox_size=0.5), 'my_config.py')
    assert [str(warning.message) for warning in record] == [
        'my_config.py: test_cfg.min_bbox_size=0.5 is applied in input pixels inside the graph '
        '(PyTorch: in original-image pixels)']


def dims(value_info) -> list:
    return [dim.dim_param or dim.dim_value for dim in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize('dynamic_batch', [True, False])
def test_postprocess_model_interface(dynamic_batch):
    """The declared inputs and outputs of docs/deployment.md, the opset and
    IR version asked for, a named node each."""
    from onnx import TensorProto
    settings = PostprocessSettings(iou_threshold=0.5, max_per_img=30)
    model = postprocess_model(settings, 700, 3, INPUT_SIZE, dynamic_batch, opset=19,
                              ir_version=9)
    batch = 'batch' if dynamic_batch else 1
    graph = model.graph
    float32, int64 = TensorProto.FLOAT, TensorProto.INT64
    assert [(value.name, value.type.tensor_type.elem_type, dims(value))
            for value in graph.input] == [
        ('raw_boxes', float32, [batch, 700, 4]), ('raw_objectness', float32, [batch, 700]),
        ('raw_class_prob', float32, [batch, 700, 3])]
    assert [(value.name, value.type.tensor_type.elem_type, dims(value))
            for value in graph.output] == [
        ('num_dets', int64, [batch]), ('boxes', float32, [batch, 30, 4]),
        ('scores', float32, [batch, 30]), ('labels', int64, [batch, 30])]
    assert [(entry.domain, entry.version) for entry in model.opset_import] == [('', 19)]
    assert model.ir_version == 9 and graph.name == 'postprocess'
    names = [node.name for node in graph.node]
    assert all(name.startswith('post/') for name in names) and len(set(names)) == len(names)


def boundary_outputs(num_priors: int, num_classes: int):
    """Decoded outputs of one image whose few live pairs sit exactly on the
    thresholds of ``BOUNDARY_CFGS`` (values exact in float32), far apart so
    that NMS keeps each: ``(boxes, objectness, class_prob)`` arrays."""
    boxes = np.zeros((1, num_priors, 4), np.float32)
    objectness = np.zeros((1, num_priors), np.float32)
    class_prob = np.zeros((1, num_priors, num_classes), np.float32)
    live = [  # prior, x1, width, height, objectness, class, class probability
        (10, 0, 40, 40, 1.0, 0, 0.25),  # class_prob == score_thr: no candidate
        (20, 50, 40, 40, 0.5, 1, 0.75),  # objectness == conf_thr: a candidate
        (30, 100, 16, 40, 1.0, 0, 0.75),  # width == min_bbox_size: no candidate
        (40, 150, 40, 16.5, 1.0, 2, 0.75),  # height just above it: a candidate
        (50, 200, 40, 40, 0.5, 0, 0.5),  # 'score': 0.25 == score_thr, no candidate
        (60, 250, 40, 40, 0.4375, 1, 1.0),  # objectness just below conf_thr
    ]
    for prior, x1, width, height, obj, label, prob in live:
        boxes[0, prior] = [x1, 8, x1 + width, 8 + height]
        objectness[0, prior] = obj
        class_prob[0, prior, label] = prob
    return boxes, objectness, class_prob


BOUNDARY_CFGS = {
    # detections: priors 20, 40, 50
    'class_prob': (dict(conf_thr=0.5, score_thr=0.25, min_bbox_size=16, nms=IOU), 3),
    # priors 20, 40, 60
    'score': (dict(candidate_score='score', score_thr=0.25, min_bbox_size=16, nms=IOU), 3),
    # priors 20, 30, 40, 60
    'score, no size check': (dict(candidate_score='score', score_thr=0.25, nms=IOU), 4),
}


@pytest.mark.filterwarnings('ignore:.*min_bbox_size=16 is applied in input pixels')
@pytest.mark.parametrize('name', list(BOUNDARY_CFGS))
def test_thresholds_at_their_boundaries_equal_predict_by_feat(head_outputs, monkeypatch, name):
    """Scores, objectness and sizes exactly at ``score_thr``, ``conf_thr``
    and ``min_bbox_size``: the graph's comparisons are predict_by_feat's
    (score above score_thr, objectness at least conf_thr, width and height
    above min_bbox_size)."""
    head, pred_maps, decoded = head_outputs
    test_cfg, count = BOUNDARY_CFGS[name]
    crafted = boundary_outputs(decoded[0].shape[1], head.num_classes)
    monkeypatch.setattr(head, 'decode_by_feat',
                        lambda *args: tuple(torch.from_numpy(array) for array in crafted))
    maps = [pred_map[:1] for pred_map in pred_maps]
    with torch.no_grad():
        (expected, ) = head.predict_by_feat(maps, [dict(img_shape=INPUT_SIZE)],
                                            cfg=ConfigDict(test_cfg))
    out = run_postprocess(test_cfg, crafted, head.num_classes)
    assert len(expected) == int(out['num_dets'][0]) == count
    compare_detections(dict(boxes=expected.bboxes.numpy(), scores=expected.scores.numpy(),
                            labels=expected.labels.numpy()),
                       {key: out[key][0, :count] for key in ('boxes', 'scores', 'labels')},
                       box_tol=1e-6, score_tol=1e-7)
