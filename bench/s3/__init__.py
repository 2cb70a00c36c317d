"""The S3 benchmark: Walrus against moto's S3 server, with this machine's ceilings beside them.

Run it with ``python -m bench.s3`` (or ``make bench-s3``); ``bench/README.md`` explains what it
measures and how to read the table.
"""
