"""Prometheus metrics (lock-free per-request counters included) and the served model's info."""
