"""Speed and memory of our YOLOv3 against mmdet's, side by side.

    python tools/benchmark.py --quick                      # CPU, under 3 min
    python tools/benchmark.py --device cuda --batch-size 32 --img-size 416 \
        --infer-batch-size 64                              # the GPU targets
    python tools/benchmark.py --sweep --plot docs/benchmark_sweep.png
    python tools/benchmark.py --quick --profile            # top operators

See BENCHMARKS.md for what each side runs; the logic is in
benchmarks/yolov3_vs_mmdet.py, outside the installed package.
"""
import argparse
import json
import os.path as osp
import shlex
import sys
import time

# benchmarks/ sits beside tools/ in the repository, not in the package.
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
from benchmarks.yolov3_vs_mmdet import (AMP_DTYPES, BenchmarkSettings,  # noqa: E402
                                        default_amp_dtype, plot_sweep, profile_models,
                                        run_benchmark, run_sweep)

START = time.monotonic()
QUICK = dict(warmup=1, repeats=3, data_images=8)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    parser.add_argument('--quick', action='store_true',
                        help=f'few repeats ({QUICK}); the CPU run of BENCHMARKS.md')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--infer-batch-size', type=int, help='default: --batch-size')
    parser.add_argument('--img-size', type=int, default=320, help='square input side, px')
    parser.add_argument('--num-classes', type=int, default=80)
    parser.add_argument('--objects', type=int, default=12, help='ground-truth boxes an image')
    parser.add_argument('--widen-factor', type=float, default=1.0,
                        help='channel multiplier of both models (1.0: full YOLOv3)')
    parser.add_argument('--warmup', type=int, help='untimed runs of each call')
    parser.add_argument('--repeats', type=int, help='timed runs of each call (median reported)')
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES + ('none', ),
                        help='mixed precision of our AMP rows (default: float16 on a GPU, '
                        'bfloat16 on a CPU with native bfloat16, else none)')
    parser.add_argument('--no-channels-last', action='store_true')
    parser.add_argument('--no-fuse', action='store_true', help='keep BN unfused at inference')
    parser.add_argument('--keep-freed-memory', action='store_true',
                        help="time both models under our CPU training's allocator policy "
                        "(freed memory kept for reuse) instead of glibc's default")
    parser.add_argument('--data-images', type=int,
                        help='demo KITTI frames for the data-loading rows (0: skip)')
    parser.add_argument('--model-config', default=BenchmarkSettings.model_config)
    parser.add_argument('--data-config', default=BenchmarkSettings.data_config)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-json', help='write the results here')
    parser.add_argument('--profile', action='store_true',
                        help='print torch.profiler tables of a training step and an '
                        'inference batch of each model instead of the benchmark')
    parser.add_argument('--sweep', action='store_true',
                        help='time both models over batch and input sizes instead of the '
                        'benchmark (see --plot)')
    parser.add_argument('--sweep-batch-sizes', type=int, nargs='+', default=[1, 2, 4, 8])
    parser.add_argument('--sweep-img-sizes', type=int, nargs='+',
                        default=[256, 320, 416, 512])
    parser.add_argument('--plot', default='docs/benchmark_sweep.png',
                        help='PNG of the sweep')
    return parser.parse_args()


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    defaults = dict(QUICK) if args.quick else {}
    for key in ('warmup', 'repeats', 'data_images'):
        if getattr(args, key) is not None:
            defaults[key] = getattr(args, key)
    amp_dtype = args.amp_dtype or default_amp_dtype(args.device)
    return BenchmarkSettings(
        batch_size=args.batch_size, infer_batch_size=args.infer_batch_size,
        img_size=args.img_size, num_classes=args.num_classes, objects_per_img=args.objects,
        widen_factor=args.widen_factor, device=args.device,
        amp_dtype=None if amp_dtype == 'none' else amp_dtype,
        channels_last=not args.no_channels_last, fuse_conv_bn=not args.no_fuse,
        keep_freed_memory=args.keep_freed_memory,
        model_config=args.model_config, data_config=args.data_config, seed=args.seed,
        **defaults)


def log(message: str) -> None:
    """``[benchmark 12 s] message`` on stderr: seconds since the start."""
    print(f'[benchmark {time.monotonic() - START:4.0f} s] {message}', file=sys.stderr,
          flush=True)


def main() -> None:
    args = parse_args()
    settings = settings_from_args(args)
    if settings.amp_dtype is None and args.amp_dtype is None:
        log('this CPU has no native bfloat16: no mixed-precision rows '
            '(--amp-dtype bfloat16 times the emulated ones)')
    command = 'python ' + ' '.join(shlex.quote(a) for a in sys.argv)
    if args.profile:
        for name, table in profile_models(settings).items():
            print(f'\n## {name}\n{table}')
        return
    if args.sweep:
        points = run_sweep(settings, args.sweep_batch_sizes, args.sweep_img_sizes, log)
        print(json.dumps(points, indent=1))
        print(f'plot: {plot_sweep(points, settings, args.plot)}')
        output = dict(command=command, settings=vars(args), sweep=points)
    else:
        result = run_benchmark(settings, log)
        print(result.format_table())
        for name, agreement in result.agreement.items():
            print(f'detections {name}: {agreement}')
        print(f'environment: {result.environment}')
        output = dict(result.to_json(), command=command)
    print(f'command: {command}')
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(output, f, indent=1)


if __name__ == '__main__':
    main()
