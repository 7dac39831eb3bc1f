"""Write a checkpoint of our YOLOv3 as a Darknet weight file.

The layers go in the order of yolov3.cfg, readable by Darknet.

    python tools/export_darknet_weights.py work_dirs/yolov3_kitti/epoch_100.pth yolov3_kitti.weights
    python tools/export_darknet_weights.py CKPT OUT.weights --config configs/yolov3_kitti.py
"""
import argparse

from yolo_plugin.cli_args import add_cfg_options
from yolo_plugin.converters import export_darknet_weights


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='mmengine checkpoint of the model')
    parser.add_argument('dst', help='Darknet weight file to write')
    parser.add_argument('--config', help="the model's config (default: the one stored in "
                        'the checkpoint)')
    add_cfg_options(parser, 'model.bbox_head.num_classes=3')
    parser.add_argument('--backbone-only', action='store_true', default=None,
                        help='write the 52 backbone convs only (darknet53.conv.74 style; '
                        'default: as the checkpoint was converted, else all layers)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    num_layers = export_darknet_weights(args.checkpoint, args.dst, args.config,
                                        args.cfg_options, args.backbone_only)
    print(f'Wrote {args.dst}: {num_layers} conv layers')


if __name__ == '__main__':
    main()
