"""The benchmark: `python -m bench` (or `make bench`).

It fills a database of its own with a realistic data set (bench.generate), starts the real
service and a bare ASGI + asyncpg reference endpoint (bench.bare) as subprocesses, drives them
with concurrent clients (bench.load), counts SQL statements per request (bench.queries) and
prints the EXPLAIN of every filtered list (bench.explain). Figures are printed, never asserted.
"""
