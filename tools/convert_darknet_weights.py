"""Convert a Darknet weight file to an mmengine checkpoint of our YOLOv3.

yolov3.weights gives the whole model, darknet53.conv.74 the backbone alone.

    python tools/convert_darknet_weights.py yolov3.weights checkpoints/yolov3_darknet_coco.pth
    python tools/convert_darknet_weights.py darknet53.conv.74 checkpoints/darknet53_imagenet.pth
"""
import argparse
import os.path as osp

from yolo_plugin.cli_args import add_cfg_options
from yolo_plugin.converters import convert_darknet_weights

DEFAULT_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', 'configs', '_base_',
                          'models', 'yolov3_d53.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='Darknet weight file')
    parser.add_argument('dst', help='where to write the checkpoint')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='config of the model the file was trained as (default: '
                        'YOLOv3 with 80 classes)')
    add_cfg_options(parser, 'model.bbox_head.num_classes=3')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    checkpoint = convert_darknet_weights(args.src, args.dst, args.config, args.cfg_options)
    meta = checkpoint['meta']
    print(f"Wrote {args.dst}: {meta['darknet_layers']} conv layers, "
          f"{len(checkpoint['state_dict'])} tensors, header {meta['darknet_header']}")


if __name__ == '__main__':
    main()
