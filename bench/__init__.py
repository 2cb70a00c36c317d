"""Benchmarks of the front door, run side by side with a peer implementation.

``python -m bench.front_door`` starts our cloud-in-a-box and a peer server on loopback ports,
drives both with the same light signed client and prints the comparison; see bench/README.md.
"""
