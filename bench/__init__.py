"""Benchmarks: ``python -m bench`` (city scale, see city_scale.py); landing_throughput.py (one big file)."""
