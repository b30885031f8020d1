"""Benchmarks of Ember against its peers (README "Performance").

``python -m bench.run --quick|--full`` (``make bench-quick`` / ``make bench``) runs, on one
embedded PostgreSQL and one Temporal dev server, the same work for every contender: a table
of N rows matching ``pending``, and for each row "lock it, re-check, set a column, commit".

Modules:

- :mod:`bench.schema`: the table, its seeding and the shared SQL of the action.
- :mod:`bench.stack`: the servers and the bench database.
- :mod:`bench.processes`: worker subprocesses and their peak memory.
- :mod:`bench.ember_app`, :mod:`bench.ember`: Ember per record and with ``chunk_size``.
- :mod:`bench.baseline_workflow`, :mod:`bench.temporal_baseline`: hand-written Temporal.
- :mod:`bench.procrastinate_queue`: procrastinate, swept over worker concurrency.
- :mod:`bench.floor`: a plain per-row loop and a single ``UPDATE ... WHERE``.
- :mod:`bench.idle`: what one idle trigger costs the database.
- :mod:`bench.report`: the table, ``bench/results/latest.md`` and ``latest.json``.
"""
