"""Helpers of ``build_scripts/benchmark.py``: the synthetic data builder, statistics and the
child-process probes that drive the real app (one fresh process per measured run)."""
