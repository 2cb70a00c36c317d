"""Network backends: namespaces, bridges, links and nftables rule sets.

``base.NetworkBackend`` is the interface and its contract; ``iproute.IprouteBackend`` implements
it with the iproute2 (``ip``) and nftables (``nft``) commands. ``load(name)`` picks one by name.

Every operation names the network namespace it acts in and refuses to act without one: a
backend never changes the namespace its caller runs in (the host's root namespace).
"""
from __future__ import annotations

from eucalyptus.drivers.network.base import NetworkBackend, NetworkError


def load(name: str = "iproute") -> NetworkBackend:
    """The backend called ``name``; ValueError for an unknown name."""
    if name == "iproute":
        from eucalyptus.drivers.network.iproute import IprouteBackend
        return IprouteBackend()
    raise ValueError(f"unknown network backend {name!r}")


__all__ = ["NetworkBackend", "NetworkError", "load"]
