"""Benchmarks: publication-day load, sign-on storms, press pack and mail throughput.

`python bench/run.py` (or `python -m bench.run`) starts everything it needs on loopback, loads a realistic letter,
runs the scenarios, stops what it started and prints one table. See docs/benchmarks.md.
"""
