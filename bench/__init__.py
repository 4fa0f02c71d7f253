"""Benchmarks: each module prints one JSON line of figures with a ratio against a raw baseline."""
