"""``eucalyptus register-cluster | deregister-cluster | describe-clusters``: availability zones.

    eucalyptus register-cluster --zone NAME --cc URL --sc URL   add a zone's cluster
    eucalyptus deregister-cluster NAME                         remove it
    eucalyptus describe-clusters                               every zone and its state

The cloud controller keeps the registry (``clc.clusters``); these commands tell it over the
internal API. The zone of the cloud controller's own settings (ZONE, CC_HOST/CC_PORT,
SC_HOST/SC_PORT) is always there. A registered cluster's components must trust the cloud's
component keys: give them a copy of DIR/keys (and DIR/credentials for the storage
controller's access to Walrus).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from rich.table import Table

from eucalyptus.clc.cluster_messages import ClusterSpec, ClusterStates, ZoneRef
from eucalyptus.cli.admin_rpc import call
from eucalyptus.cli.admin_status import console
from eucalyptus.config import Settings


def clusters_table(states: ClusterStates) -> Table:
    table = Table(title="clusters (availability zones)")
    for col in ("zone", "state", "nodes up", "cluster controller", "storage controller"):
        table.add_column(col)
    for c in states.clusters:
        table.add_row(c.zone + (" (home)" if c.home else ""), c.state, str(c.nodes_up),
                      c.cc_url, c.sc_url)
    return table


def register(settings: Settings, zone: str, cc_url: str, sc_url: str,
             out: TextIO = sys.stdout) -> int:
    got = call(settings, "clc", "POST", "clusters/register", ClusterSpec(zone, cc_url, sc_url),
               reply=ClusterStates, timeout=30)
    console(out).print(clusters_table(got))
    return 0


def deregister(settings: Settings, zone: str, out: TextIO = sys.stdout) -> int:
    got = call(settings, "clc", "POST", "clusters/deregister", ZoneRef(zone),
               reply=ClusterStates, timeout=30)
    console(out).print(clusters_table(got))
    return 0


def describe(settings: Settings, out: TextIO = sys.stdout) -> int:
    got = call(settings, "clc", "POST", "clusters/describe", reply=ClusterStates, timeout=30)
    console(out).print(clusters_table(got))
    return 0


def run(args: argparse.Namespace) -> int:
    from eucalyptus.cli.admin import _settings
    settings = _settings(args)
    if args.cluster_command == "register-cluster":
        return register(settings, args.zone, args.cc, args.sc)
    if args.cluster_command == "deregister-cluster":
        return deregister(settings, args.zone)
    return describe(settings)


def add_parser(sub) -> None:
    """Register the cluster commands on the admin subparsers."""
    def command(name: str, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--data-dir", type=Path, default=Path("data"),
                       help="data directory (default: ./data)")
        p.set_defaults(handler=run, cluster_command=name)
        return p

    p = command("register-cluster", "add the cluster of another availability zone")
    p.add_argument("--zone", required=True, help="the zone's name (the cluster's ZONE)")
    p.add_argument("--cc", required=True, metavar="URL",
                   help="its cluster controller, http://HOST:PORT")
    p.add_argument("--sc", required=True, metavar="URL",
                   help="its storage controller, http://HOST:PORT")
    p = command("deregister-cluster", "remove a registered availability zone's cluster")
    p.add_argument("zone", metavar="ZONE")
    command("describe-clusters", "show every availability zone and its cluster's state")
