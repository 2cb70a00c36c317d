"""``eucalyptus register-node | deregister-node | enable-node | disable-node | describe-nodes``.

    eucalyptus register-node HOST[:PORT] ...     add node controllers (alias register-nodes)
    eucalyptus deregister-node HOST[:PORT] ...   remove them (alias deregister-nodes)
    eucalyptus disable-node HOST[:PORT] ...      no new instances go there; running ones stay
    eucalyptus enable-node HOST[:PORT] ...       take instances again
    eucalyptus describe-nodes                    state, admin state and capacity of each node

Each is told to the running cluster controller over the internal API; the cluster controller
keeps registrations and enabled/disabled state across its restarts. Registration is also
recorded in NODES of DIR/eucalyptus.conf, as Eucalyptus' euca_conf does.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from rich.table import Table

from eucalyptus.cli.admin_rpc import call
from eucalyptus.cli.admin_status import console
from eucalyptus.cc.nodes import normalise_address
from eucalyptus.config import CONF_NAME, Settings, update_conf
from eucalyptus.rpc.messages import ClusterResources, NodeAddresses

COMMANDS = {
    "register-node": ("add node controllers to the cluster", ["register-nodes"]),
    "deregister-node": ("remove node controllers from the cluster", ["deregister-nodes"]),
    "enable-node": ("let nodes take new instances again", []),
    "disable-node": ("place no new instances on nodes (running ones stay)", []),
}


def nodes_table(cluster: ClusterResources) -> Table:
    table = Table(title=f"nodes of zone {cluster.zone}")
    for col in ("node", "state", "admin state", "cores free/total", "memory MiB free/total",
                "disk GiB free/total", "instances"):
        table.add_column(col)
    for n in cluster.nodes:
        r = n.resources
        table.add_row(n.address, n.state if not n.error else f"{n.state}: {n.error}",
                      "enabled" if n.enabled else "disabled",
                      f"{r.cores_free}/{r.cores_total}" if r else "-",
                      f"{r.memory_free_mib}/{r.memory_total_mib}" if r else "-",
                      f"{r.disk_free_gib}/{r.disk_total_gib}" if r else "-",
                      str(r.instances) if r else "-")
    return table


def _persist(settings: Settings, nodes: list[str]) -> None:
    update_conf(settings.data_dir / CONF_NAME, {"NODES": " ".join(nodes)})


def register(settings: Settings, addresses: list[str], out: TextIO = sys.stdout) -> int:
    wanted = [normalise_address(a, settings.nc_port) for a in addresses]
    cluster = call(settings, "cc", "POST", "cluster/nodes/register", NodeAddresses(wanted),
                   reply=ClusterResources)
    known = [normalise_address(a, settings.nc_port) for a in settings.nodes]
    _persist(settings, known + [a for a in wanted if a not in known])
    console(out).print(nodes_table(cluster))
    return 0


def deregister(settings: Settings, addresses: list[str], out: TextIO = sys.stdout) -> int:
    gone = [normalise_address(a, settings.nc_port) for a in addresses]
    cluster = call(settings, "cc", "POST", "cluster/nodes/deregister", NodeAddresses(gone),
                   reply=ClusterResources)
    known = [normalise_address(a, settings.nc_port) for a in settings.nodes]
    _persist(settings, [a for a in known if a not in gone])
    console(out).print(nodes_table(cluster))
    return 0


def set_enabled(settings: Settings, addresses: list[str], enabled: bool,
                out: TextIO = sys.stdout) -> int:
    wanted = [normalise_address(a, settings.nc_port) for a in addresses]
    cluster = call(settings, "cc", "POST",
                   "cluster/nodes/enable" if enabled else "cluster/nodes/disable",
                   NodeAddresses(wanted), reply=ClusterResources)
    console(out).print(nodes_table(cluster))
    return 0


def describe(settings: Settings, out: TextIO = sys.stdout) -> int:
    cluster = call(settings, "cc", "POST", "cluster/resources", reply=ClusterResources)
    console(out).print(nodes_table(cluster))
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    from eucalyptus.cli.admin import _settings as admin_settings
    return admin_settings(args)


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    name = args.node_command
    if name == "describe-nodes":
        return describe(settings)
    if name == "register-node":
        return register(settings, args.nodes)
    if name == "deregister-node":
        return deregister(settings, args.nodes)
    return set_enabled(settings, args.nodes, name == "enable-node")


def add_parser(sub) -> None:
    """Register the node commands (and their plural aliases) on the admin subparsers."""
    for name, (text, aliases) in COMMANDS.items():
        p = sub.add_parser(name, aliases=aliases, help=text, description=text)
        p.add_argument("nodes", nargs="+", metavar="HOST[:PORT]")
        p.add_argument("--data-dir", type=Path, default=Path("data"),
                       help="data directory (default: ./data)")
        p.set_defaults(handler=run, node_command=name)
    text = "show the cluster's nodes"
    p = sub.add_parser("describe-nodes", help=text, description=text)
    p.add_argument("--data-dir", type=Path, default=Path("data"),
                   help="data directory (default: ./data)")
    p.set_defaults(handler=run, node_command="describe-nodes")
