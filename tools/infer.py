"""Detect objects in an image, a folder of images, a video or a sequence of
frames with a trained checkpoint or an exported model; write annotated
images (a video for a video or ``--sequence``) and detections.json to
--out-dir:

    python tools/infer.py CONFIG CHECKPOINT SOURCE --out-dir DIR
    python tools/infer.py CONFIG SOURCE --out-dir DIR --backend onnxruntime --onnx FILE

SOURCE: an image file, a folder of images, a video file (mp4, avi, ...), or
with --sequence a folder of frames (a KITTI raw drive or its
image_02/data/, a Cityscapes leftImg8bit_sequence folder); see
docs/deployment.md.
"""
import argparse

from yolo_plugin.apis import infer, infer_sequence, is_video, list_images, load_detector
from yolo_plugin.cli_args import add_backend_arguments, add_cfg_options, check_backend_arguments


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint file (none with --backend onnxruntime)')
    parser.add_argument('images', metavar='source',
                        help='an image, a folder of images, a video, or with --sequence a '
                        'folder of frames')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--sequence', action='store_true',
                        help='read the folder as the frames of one video (name order) and '
                        'write an annotated video')
    parser.add_argument('--fps', type=float,
                        help="frames/s of the written video (default: the video's, 10 for "
                        'a frame folder)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw and list detections scoring at least this')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu', 'cuda:0' (pytorch)")
    add_backend_arguments(parser)
    add_cfg_options(parser)
    args = parser.parse_args()
    check_backend_arguments(parser, args)
    return args


def build_model(args: argparse.Namespace):
    if args.backend == 'onnxruntime':
        from yolo_plugin.deploy.backend import load_onnx_detector  # the deploy extra
        return load_onnx_detector(args.config, args.onnx, args.cfg_options, args.batch_size)
    return load_detector(args.config, args.checkpoint, args.device, args.cfg_options)


def main() -> None:
    args = parse_args()
    model = build_model(args)
    if args.sequence or is_video(args.images):
        result = infer_sequence(model, args.images, args.out_dir, score_thr=args.score_thr,
                                batch_size=args.batch_size, fps=args.fps)
        print(f'{result.video_file} and {result.json_file} written: {result.frames} frames, '
              f'{result.fps:.1f} frames/s ({result.detect_fps:.1f} frames/s detection only)')
        return
    out_file = infer(model, list_images(args.images), args.out_dir,
                     score_thr=args.score_thr, batch_size=args.batch_size)
    print(f'annotated images and {out_file} written')


if __name__ == '__main__':
    main()
