"""A benchmark-only stand-in for a big host, loaded by Python at start-up (sitecustomize).

The API benchmark needs a node that can hold 1,000 instances whose hypervisor (the FakeDriver)
boots nothing; MAX_CORES/MAX_MEM/MAX_DISK only cap what the real host has. When a process
starts with this directory on PYTHONPATH and BENCH_FAKE_HOST="CORES,MEM_MIB,DISK_GIB" in its
environment, the node's host probes (eucalyptus.nc.resources.host_cores, host_memory_mib,
host_disk_gib) report those figures instead; an empty field keeps the real probe ("8,," gives
eight cores, the real memory and disk). Without the variable this module does nothing.
"""
import os

_FIGURES = os.environ.get("BENCH_FAKE_HOST", "")
if _FIGURES:
    from eucalyptus.nc import resources as _resources
    _cores, _memory, _disk = (_FIGURES.split(",") + ["", ""])[:3]
    if _cores:
        _resources.host_cores = lambda: int(_cores)
    if _memory:
        _resources.host_memory_mib = lambda meminfo=None: int(_memory)
    if _disk:
        _resources.host_disk_gib = lambda path: int(_disk)
