"""Eucalyptus' four network modes: what the cluster controller builds and serves in each.

    mode            networks                        bridge(s)              CC serves
    MANAGED         one per security group, VLAN    eucabr<vlan> each      DHCP, metadata,
                    tagged (VLAN id = index)        (+ PRIVIF.<vlan>)      filter, NAT
    MANAGED-NOVLAN  one per security group          VNET_BRIDGE (+PRIVIF)  DHCP, metadata,
                                                                           filter, NAT
    STATIC          VNET_SUBNET, VNET_MACMAP pairs  VNET_BRIDGE (+PRIVIF)  DHCP, metadata
    SYSTEM          an existing network             VNET_BRIDGE (+PRIVIF)  nothing

``mode_of(settings)`` validates the combination of keys and returns a ``ModeConfig``; a bad
combination is a ConfigError naming the key (STATIC without VNET_MACMAP, a MACMAP address
outside VNET_SUBNET, VNET_ADDRSPERNET that does not cut VNET_SUBNET, a VNET_PRIVINTERFACE
too long to carry ``.<vlan>``, ...). In every mode with a gateway the cluster controller
holds the first address of each network in use; forwarding between networks goes through it.
Security groups and elastic IPs exist only in the managed modes (``supports_policy``).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from eucalyptus.cc.vnet.addresses import Subnet
from eucalyptus.cc.vnet.networks import LEGACY_INDEX, NetworkLayout
from eucalyptus.config import ConfigError, Settings

MANAGED, NOVLAN, STATIC, SYSTEM = "MANAGED", "MANAGED-NOVLAN", "STATIC", "SYSTEM"
MODES = (MANAGED, NOVLAN, STATIC, SYSTEM)
VLAN_BRIDGE_PREFIX = "eucabr"


@dataclass(frozen=True)
class ModeConfig:
    """One cluster's network mode with the keys it uses, validated."""
    name: str
    subnet: Subnet                       # all of VNET_SUBNET/VNET_NETMASK
    layout: NetworkLayout | None         # managed modes only
    bridge: str                          # VNET_BRIDGE
    privinterface: str                   # VNET_PRIVINTERFACE ("" on one host)
    macmap: tuple[tuple[str, str], ...]  # STATIC only

    @property
    def managed(self) -> bool:
        return self.name in (MANAGED, NOVLAN)

    @property
    def vlans(self) -> bool:
        return self.name == MANAGED

    @property
    def dhcp(self) -> bool:
        """Whether the cluster controller runs DHCP (and holds gateways)."""
        return self.name != SYSTEM

    @property
    def metadata(self) -> bool:
        return self.name != SYSTEM

    @property
    def supports_policy(self) -> bool:
        """Security groups and elastic IPs (filter and NAT) are enforced."""
        return self.managed

    def network(self, index: int) -> Subnet:
        """The subnet of network ``index`` (the whole subnet outside the managed modes)."""
        return self.layout.network(index) if self.layout is not None else self.subnet

    def bridge_of(self, index: int) -> str:
        """The bridge network ``index`` lives on."""
        return f"{VLAN_BRIDGE_PREFIX}{index}" if self.vlans else self.bridge

    def vlan_of(self, index: int) -> int:
        return index if self.vlans else 0

    @property
    def home_index(self) -> int:
        """The network always present: the legacy one (managed) or the only one."""
        return LEGACY_INDEX if self.managed else 0

    @property
    def dhcp_interfaces(self) -> str:
        """dnsmasq's ``--interface`` pattern: every eucabr<vlan> in MANAGED."""
        return f"{VLAN_BRIDGE_PREFIX}*" if self.vlans else self.bridge


def unsupported(mode: str, what: str) -> str:
    """The message of an operation a mode does not have."""
    return f"{what} is not supported in network mode {mode}"


def _source(settings: Settings, key: str) -> str:
    where = settings.sources.get(key, "default")
    return f"{key} ({where})"


def mode_of(settings: Settings) -> ModeConfig:
    """The validated mode of ``settings``; ConfigError naming the offending key."""
    name = settings.vnet_mode
    try:
        subnet = Subnet.parse(settings.vnet_subnet, settings.vnet_netmask)
    except ValueError as exc:
        raise ConfigError(f"VNET_SUBNET={settings.vnet_subnet} VNET_NETMASK="
                          f"{settings.vnet_netmask}: {exc}") from None
    layout = None
    if name in (MANAGED, NOVLAN):
        try:
            layout = NetworkLayout.parse(settings.vnet_subnet, settings.vnet_netmask,
                                         settings.vnet_addrspernet, vlans=name == MANAGED)
        except ValueError as exc:
            raise ConfigError(f"VNET_MODE={name}: {exc}") from None
    privif = settings.vnet_privinterface
    if privif and name == MANAGED and layout is not None:
        longest = f"{privif}.{layout.count - 1}"
        if len(longest) > 15:
            raise ConfigError(f"{_source(settings, 'VNET_PRIVINTERFACE')}: {privif!r} is too "
                              f"long to carry VLAN sub-interfaces ({longest!r} exceeds 15 "
                              "characters)")
    macmap = tuple(settings.vnet_macmap)
    if name == STATIC:
        if not macmap:
            raise ConfigError(f"VNET_MODE=STATIC needs VNET_MACMAP (MAC=IP pairs of the "
                              f"instances); {_source(settings, 'VNET_MACMAP')} is empty")
        reserved = {subnet.gateway, str(subnet.network.network_address),
                    str(subnet.network.broadcast_address)}
        for mac, ip in macmap:
            if ipaddress.IPv4Address(ip) not in subnet.network or ip in reserved:
                raise ConfigError(f"{_source(settings, 'VNET_MACMAP')}: {mac}={ip} is not an "
                                  f"instance address of VNET_SUBNET {subnet.network} (the "
                                  f"gateway {subnet.gateway} is the cluster's)")
    else:
        macmap = ()             # only STATIC reads it
    return ModeConfig(name, subnet, layout, settings.vnet_bridge, privif, macmap)
