"""Benchmarks (`make bench`): each module runs real processes and prints one table."""
