"""Shared pytest setup: the repository root on sys.path for `tests.harness`."""
