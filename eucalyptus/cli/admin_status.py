"""``eucalyptus status``: every component's health, and the nodes the cluster sees."""
from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from rich.console import Console
from rich.table import Table

from eucalyptus.cli.admin_rpc import call_async
from eucalyptus.config import COMPONENTS, Settings
from eucalyptus.errors import ServiceError
from eucalyptus.rpc.messages import ClusterResources, Health


async def _gather(settings: Settings) -> dict[str, Health | ServiceError]:
    async def one(name: str) -> Health | ServiceError:
        try:
            return await call_async(settings, settings.url(name), "GET", "health",
                                    reply=Health, timeout=3)
        except ServiceError as exc:
            return exc
    results = await asyncio.gather(*(one(n) for n in COMPONENTS))
    return dict(zip(COMPONENTS, results))


def console(out: TextIO) -> Console:
    return Console(file=out, width=None if out.isatty() else 160, highlight=False)


def nodes_table(cluster: ClusterResources) -> Table:
    table = Table(title=f"nodes of zone {cluster.zone}")
    for col in ("node", "state", "cores free/total", "memory MiB free/total",
                "disk GiB free/total", "instances"):
        table.add_column(col)
    for n in cluster.nodes:
        r = n.resources
        table.add_row(n.address, n.state if not n.error else f"{n.state}: {n.error}",
                      f"{r.cores_free}/{r.cores_total}" if r else "-",
                      f"{r.memory_free_mib}/{r.memory_total_mib}" if r else "-",
                      f"{r.disk_free_gib}/{r.disk_total_gib}" if r else "-",
                      str(r.instances) if r else "-")
    return table


def status(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Print the health table; 0 when every component is up, 1 otherwise."""
    results = asyncio.run(_gather(settings))
    table = Table(title=f"eucalyptus {settings.data_dir}")
    for col in ("component", "endpoint", "state", "pid", "uptime s", "details"):
        table.add_column(col)
    for name, res in results.items():
        if isinstance(res, Health):
            details = ", ".join(f"{k}={v}" for k, v in res.details.items())
            table.add_row(name, settings.url(name), res.status, str(res.pid),
                          f"{res.uptime_s:.0f}", details)
        else:
            table.add_row(name, settings.url(name), "down", "-", "-", f"{res.code}: {res.message}")
    con = console(out)
    con.print(table)
    if isinstance(results["cc"], Health):
        try:
            cluster = asyncio.run(call_async(settings, settings.url("cc"), "POST",
                                             "cluster/resources", reply=ClusterResources))
            con.print(nodes_table(cluster))
        except ServiceError as exc:
            con.print(f"nodes: {exc.code}: {exc.message}")
    return 0 if all(isinstance(r, Health) and r.status == "ok" for r in results.values()) else 1
