"""Benchmark data generator and runner (see README.md); not part of the application."""
