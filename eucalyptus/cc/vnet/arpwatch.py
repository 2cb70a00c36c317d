"""Learning instances' addresses in SYSTEM mode, where someone else's DHCP hands them out.

The cluster controller knows each instance's MAC (it chose it) but not the address the
existing network's DHCP server gave it. ``AddressWatch`` listens, inside the namespace, to the
ARP frames that reach the bridge device (requests are broadcast, so every guest's first
request for its router or any neighbour is seen, as are gratuitous announcements) and
reports each (MAC, IPv4 address) pair whose sender address is set; ARP probes (sender
0.0.0.0) are skipped. Until a guest has sent one ARP request its address stays unknown and
the cluster reports none, which is what DescribeInstances then shows.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
from typing import Callable

from eucalyptus.drivers.network.base import NetworkBackend

log = logging.getLogger("eucalyptus.cc.vnet")
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100


def parse_arp(frame: bytes) -> tuple[str, str] | None:
    """(sender MAC, sender IPv4) of an Ethernet ARP frame (802.1Q tag allowed), None for
    anything else or a probe without a sender address."""
    offset = 12
    if len(frame) < offset + 2:
        return None
    ethertype = struct.unpack_from("!H", frame, offset)[0]
    if ethertype == ETH_P_8021Q:
        offset += 4
        if len(frame) < offset + 2:
            return None
        ethertype = struct.unpack_from("!H", frame, offset)[0]
    body = offset + 2
    if ethertype != ETH_P_ARP or len(frame) < body + 28:
        return None
    htype, ptype, hlen, plen = struct.unpack_from("!HHBB", frame, body)
    if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4):
        return None
    sha = frame[body + 8:body + 14]
    spa = ipaddress.IPv4Address(frame[body + 14:body + 18])
    if int(spa) == 0:
        return None
    return ":".join(f"{b:02x}" for b in sha), str(spa)


class AddressWatch:
    """Calls ``seen(mac, ip)`` for each ARP sender on ``ifname`` in ``ns``."""

    def __init__(self, backend: NetworkBackend, ns: str, ifname: str,
                 seen: Callable[[str, str], None]):
        self.backend = backend
        self.ns = ns
        self.ifname = ifname
        self.seen = seen
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Open the capture socket (NetworkError when it cannot be made) and start reading."""
        self._sock = await asyncio.to_thread(self.backend.packet_socket, self.ns, self.ifname,
                                             ETH_P_ARP)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._read)

    def _read(self) -> None:
        while self._sock is not None:
            try:
                frame = self._sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("ARP capture on %s in %s: %s", self.ifname, self.ns, exc)
                return
            pair = parse_arp(frame)
            if pair is not None:
                try:
                    self.seen(*pair)
                except Exception:          # a bad report must not stop the watch
                    log.exception("handling ARP from %s", pair)

    async def stop(self) -> None:
        if self._sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
