"""``eucalyptus register-nodes | deregister-nodes | describe-nodes``.

Registration is told to the running cluster controller over the internal API and recorded in
NODES of DIR/eucalyptus.conf, so it survives a restart (as Eucalyptus' euca_conf does).
"""
from __future__ import annotations

import sys
from typing import TextIO

from eucalyptus.cli.admin_rpc import call
from eucalyptus.cli.admin_status import console, nodes_table
from eucalyptus.cc.nodes import normalise_address
from eucalyptus.config import CONF_NAME, Settings, update_conf
from eucalyptus.rpc.messages import ClusterResources, NodeAddresses


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


def describe(settings: Settings, out: TextIO = sys.stdout) -> int:
    cluster = call(settings, "cc", "POST", "cluster/resources", reply=ClusterResources)
    console(out).print(nodes_table(cluster))
    return 0
