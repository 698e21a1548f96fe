"""Shared pytest set-up: makes tests/kit.py importable as `kit`."""
