"""Benchmarks and their comparison baselines: outside the product packages, never installed in production.

Each module holds a management-style `Command`; run them with `python -m bench NAME [options]`
(the `make bench-*` targets do): `review`, `api`, `reminders`, `synthetic` (the large data set).
"""
