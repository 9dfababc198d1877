"""Benchmarks: ``python -m benchmarks`` runs every ``bench_*.py`` module here; each module's
``run()`` measures its area against a baseline measured in the same run, prints its own
details and returns a dict of metric -> value for the summary table."""
