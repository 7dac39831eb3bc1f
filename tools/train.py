"""Train a detector: ``python tools/train.py CONFIG [--work-dir DIR] [--amp]
[--auto-scale-lr] [--resume [CKPT]] [--cfg-options k=v ...] [--launcher pytorch]``
(see docs/training.md)."""
from yolo_plugin.engine.cli import main_train

if __name__ == '__main__':
    main_train()
