"""Side-by-side measurements of our YOLOv3 against mmdet's
(``tools/benchmark.py``, BENCHMARKS.md), outside the installed package."""
