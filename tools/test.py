"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out results.pkl]
[--show-dir DIR] [--tta] [--work-dir DIR] [--cfg-options k=v ...]
[--launcher pytorch]`` (see docs/training.md)."""
from yolo_plugin.engine.cli import main_test

if __name__ == '__main__':
    main_test()
