"""``python -m bench.launch``: instance launch and instance-API benchmarks (see bench/README.md)."""
