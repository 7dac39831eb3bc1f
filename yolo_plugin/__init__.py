"""yolo_plugin: a YOLOv3 family for driving data on mmengine / mmdet.

Importing the package changes mmengine for the whole process, here and
nowhere else (docs/architecture.md, "What importing yolo_plugin changes"):

- checkpoint loading: mmengine's ``CheckpointLoader`` loads local files and
  ``http(s)://`` and ``open-mmlab://`` checkpoints through
  ``torch.load(weights_only=True)`` with an allow-list of the types an
  mmengine checkpoint holds (downloads go to torch.hub's cache first), so
  that torch >= 2.6 loads mmengine's own checkpoints and a pickle that runs
  code is refused;
- file writing: mmengine's ``local`` file backend writes atomically (a
  temporary file renamed over the target), so a kill while saving never
  leaves a truncated checkpoint.

Both are :func:`yolo_plugin.utils.checkpoint.register_safe_checkpoint_loader`.
On a deployment machine without torch or mmengine there is nothing to load
and nothing is changed: only :mod:`yolo_plugin.deploy.onnx_runner` (numpy,
OpenCV, ONNX Runtime) works there. The registries (``yolo_plugin.registry``)
join mmdet's as children of scope ``yolo_plugin`` when first imported; the
modules that fill them are imported on first use.
"""
from .version import __version__

try:
    from .utils.checkpoint import register_safe_checkpoint_loader
except ModuleNotFoundError as error:
    if error.name is None or error.name.partition('.')[0] not in ('torch', 'mmengine'):
        raise
else:
    register_safe_checkpoint_loader()

__all__ = ['__version__']
