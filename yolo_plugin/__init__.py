"""yolo_plugin: a YOLOv3 family for driving data on mmengine / mmdet."""
from .utils.checkpoint import register_safe_checkpoint_loader
from .version import __version__

# Make mmengine's checkpoint loading (local files, and http(s):// and
# open-mmlab:// downloads) work with torch >= 2.6 (``weights_only=True``)
# without switching that safety off.
register_safe_checkpoint_loader()

__all__ = ['__version__']
