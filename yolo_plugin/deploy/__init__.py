"""Deployment outside PyTorch (docs/deployment.md).

- :mod:`yolo_plugin.deploy.export`: torch -> one ONNX graph with the
  post-processing of :mod:`yolo_plugin.deploy.postprocess` inside;
  :mod:`yolo_plugin.deploy.quantize`: its int8 copy (both need the training
  stack plus ``onnx`` and ``onnxruntime``).
- :mod:`yolo_plugin.deploy.onnx_runner`: runs an exported model with numpy,
  OpenCV and ONNX Runtime only; a standalone file.
- :mod:`yolo_plugin.deploy.backend`: an exported model as an mmengine model,
  the ONNX Runtime backend of ``tools/test.py`` and ``tools/infer.py``.

Nothing is imported here, so that importing the runner never pulls in the
exporter's torch and OpenMMLab imports.
"""
