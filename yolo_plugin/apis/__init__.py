"""What the tools and users call, with plain keyword arguments: configs
loaded with overrides and checked, training and testing set up from a
config, and inference. The other tasks have a module each: ``anchors``,
``packing``, ``browse``, ``analysis``, ``log_analysis``, ``demo``."""
from .config import SPLITS, build_split_dataset, load_config, split_dataset_cfg
from .config_check import ConfigError, check_config
from .inference import build_detector, infer, list_images, load_detector
from .runner import build_runner
from .testing import setup_testing
from .training import run_training, setup_training
from .video import infer_sequence, is_video

__all__ = [
    'SPLITS', 'ConfigError', 'build_detector', 'build_runner', 'build_split_dataset',
    'check_config', 'infer', 'infer_sequence', 'is_video', 'list_images', 'load_config',
    'load_detector', 'run_training', 'setup_testing', 'setup_training', 'split_dataset_cfg'
]
