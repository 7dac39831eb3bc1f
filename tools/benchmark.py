"""Speed and memory of our YOLOv3 against mmdet's, side by side.

    python tools/benchmark.py --quick                      # CPU, under 3 min
    python tools/benchmark.py --device cuda --batch-size 32 --img-size 416 \
        --infer-batch-size 64                              # the GPU targets
    python tools/benchmark.py --sweep --plot docs/benchmark_sweep.png
    python tools/benchmark.py --quick --profile            # top operators
    python tools/benchmark.py --data-pipeline              # training data pipeline
    python tools/benchmark.py --data-pipeline --dataset cityscapes --frames 16
    python tools/benchmark.py --deploy --demo-checkpoint CKPT   # PyTorch vs ONNX Runtime

See BENCHMARKS.md for what each side runs; the logic is in
benchmarks/yolov3_vs_mmdet.py, benchmarks/data_pipeline.py and
benchmarks/deploy.py, outside the installed package.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import sys
import time

# benchmarks/ sits beside tools/ in the repository, not in the package.
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
from benchmarks.yolov3_vs_mmdet import (AMP_DTYPES, BenchmarkSettings,  # noqa: E402
                                        default_amp_dtype, plot_sweep, profile_models,
                                        run_benchmark, run_sweep)
from benchmarks.data_pipeline import (DATASETS_OF, PipelineSettings,  # noqa: E402
                                      format_pipeline_report, run_pipeline_benchmark)

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
    parser.add_argument('--data-pipeline', action='store_true',
                        help="time the training data pipeline, ours against mmdet's "
                        'transforms, instead of the models (per transform, data '
                        'preprocessor, DataLoader with --workers)')
    parser.add_argument('--dataset', choices=sorted(DATASETS_OF), default='kitti',
                        help='--data-pipeline: demo frames of this data set and its '
                        'base dataset config')
    parser.add_argument('--pipeline-config',
                        help="--data-pipeline: config whose train_pipeline is ours "
                        "(default: the data set's base config)")
    parser.add_argument('--frames', type=int, help='--data-pipeline: demo frames '
                        f'(default {PipelineSettings.frames}, --quick 8)')
    parser.add_argument('--frame-size', type=int, nargs=2, metavar=('W', 'H'),
                        help="--data-pipeline: default the data set's frame size")
    parser.add_argument('--workers', type=int, nargs='+',
                        default=sorted({1, 2, os.cpu_count()}),
                        help='--data-pipeline: DataLoader worker counts (0: none)')
    parser.add_argument('--deploy', action='store_true',
                        help='time inference at batch 1 and 8 of our PyTorch model, ONNX '
                        "Runtime fp32 and int8 and mmdet's (benchmarks/deploy.py; the "
                        'deploy extra)')
    parser.add_argument('--deploy-models', nargs='+', default=['demo', 'full'],
                        choices=['demo', 'full'], help='--deploy: the models')
    parser.add_argument('--demo-checkpoint', help='--deploy: weights of the demo model '
                        '(default random ones)')
    parser.add_argument('--threads', type=int, nargs='+',
                        help='--deploy: intra-op thread counts of torch and ONNX Runtime, '
                        'each timed (default 1 and all cores)')
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


def pipeline_settings_from_args(args: argparse.Namespace) -> PipelineSettings:
    quick = dict(frames=8, passes=3, loader_passes=2) if args.quick else {}
    if args.frames is not None:
        quick['frames'] = args.frames
    if args.repeats is not None:
        quick['passes'] = args.repeats
    return PipelineSettings(
        dataset=args.dataset, config=args.pipeline_config,
        frame_size=args.frame_size, workers=[w for w in args.workers if w > 0],
        seed=args.seed, **quick)


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
    if args.deploy:
        from benchmarks.deploy import (DeploySettings, format_deploy_report,
                                       run_deploy_benchmark)  # the deploy extra
        rows = run_deploy_benchmark(DeploySettings(
            models=args.deploy_models, warmup=args.warmup or 1, repeats=args.repeats or 5,
            threads=args.threads or DeploySettings.threads,
            demo_checkpoint=args.demo_checkpoint, seed=args.seed), log)
        print(format_deploy_report(rows))
        output = dict(command=command, deploy=rows)
    elif args.data_pipeline:
        results = run_pipeline_benchmark(pipeline_settings_from_args(args), log)
        print(format_pipeline_report(results))
        output = dict(results, command=command)
    elif args.sweep:
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
