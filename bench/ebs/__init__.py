"""EBS benchmark: snapshot and restore throughput of the storage controller (``python -m
bench.ebs``)."""
