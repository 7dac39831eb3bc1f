"""Convert a checkpoint of mmdet's YOLOv3 (Darknet-53) to our module names.

    python tools/convert_mmdet_checkpoint.py yolov3_d53_mstrain-608_273e_coco.pth \
        checkpoints/yolov3_d53_coco_yolo_plugin.pth
"""
import argparse

from yolo_plugin.converters import convert_mmdet_checkpoint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help="checkpoint of mmdet's YOLOV3 (Darknet, YOLOV3Neck, "
                        'YOLOV3Head)')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    checkpoint = convert_mmdet_checkpoint(args.src, args.dst)
    print(f"Wrote {args.dst}: {len(checkpoint['state_dict'])} tensors")


if __name__ == '__main__':
    main()
