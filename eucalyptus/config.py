"""Typed settings from ``DIR/eucalyptus.conf`` and ``EUCA_<KEY>`` environment variables.

The file holds ``KEY="value"`` lines (quotes optional, ``#`` starts a comment) using
Eucalyptus' own names where they exist. Every key is declared once in ``KEYS`` with its type,
default and description; ``example_text()`` renders the documented example file from it.

Precedence: environment ``EUCA_<KEY>`` > the file > the default. An unknown key in the file or
a value that does not fit its type raises ``ConfigError`` naming the key, the file and the line
(or the environment variable), so start-up stops before anything listens.

    settings = load_settings("/var/lib/eucalyptus")
    settings.clc_port, settings.region, settings.url("walrus"), settings.database_url
"""
from __future__ import annotations

import ipaddress
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

CONF_NAME = "eucalyptus.conf"
ENV_PREFIX = "EUCA_"
COMPONENTS = ("clc", "walrus", "sc", "cc", "nc")
DEFAULT_PORTS = {"clc": 8773, "cc": 8774, "nc": 8775, "sc": 8776, "walrus": 8777}
PORT_OFFSETS = {"clc": 0, "cc": 1, "nc": 2, "sc": 3, "walrus": 4}


INIT_MARKER = ".initialised"


def is_initialised(data_dir: str | Path) -> bool:
    """Whether ``eucalyptus init`` completed for ``data_dir``."""
    return (Path(data_dir) / INIT_MARKER).exists()


class ConfigError(Exception):
    """A configuration problem; the message names the key and where it came from."""


# -- value parsers: str -> typed value, raising ValueError with a short reason -------------

def _port(text: str) -> int:
    n = int(text)
    if not 1 <= n <= 65535:
        raise ValueError("must be a TCP port between 1 and 65535")
    return n


def _count(text: str) -> int:
    n = int(text)
    if n < 0:
        raise ValueError("must be zero or a positive integer")
    return n


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise ValueError("must be a positive integer")
    return n


def _choice(*options: str, case: Callable[[str], str] = str.upper) -> Callable[[str], str]:
    """One of ``options``, compared after ``case`` (upper-case by default)."""
    def parse(text: str) -> str:
        value = case(text)
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value
    parse.choices = options  # type: ignore[attr-defined]
    return parse


def _name(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", text):
        raise ValueError("must be lower-case letters, digits and dashes")
    return text


def _host(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.:-]+", text):
        raise ValueError("must be a host name or an IP address")
    return text


def _ipv4(text: str) -> str:
    return str(ipaddress.IPv4Address(text))


def _optional_ipv4(text: str) -> str:
    return _ipv4(text) if text else ""


def _netmask(text: str) -> str:
    ipaddress.IPv4Network(f"0.0.0.0/{text}")
    return text


def _nodes(text: str) -> tuple[str, ...]:
    """Space (or comma) separated host[:port] list, as Eucalyptus' NODES."""
    nodes = []
    for item in text.replace(",", " ").split():
        host, _, port = item.partition(":")
        _host(host)
        if port:
            _port(port)
        nodes.append(item)
    return tuple(nodes)


def _public_ips(text: str) -> tuple[str, ...]:
    """Addresses and ``A-B`` ranges separated by spaces or commas (Eucalyptus' VNET_PUBLICIPS)."""
    out = []
    for item in text.replace(",", " ").split():
        first, _, last = item.partition("-")
        a = ipaddress.IPv4Address(first)
        b = ipaddress.IPv4Address(last) if last else a
        if b < a:
            raise ValueError(f"range {item} ends before it starts")
        out.append(item)
    return tuple(out)


def _ifname(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}", text):
        raise ValueError("must be an interface name (1-15 of A-Z a-z 0-9 _ . -)")
    return text


def _optional_ifname(text: str) -> str:
    return _ifname(text) if text else ""


def _optional_netns(text: str) -> str:
    if text and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", text):
        raise ValueError("must be a network namespace name (A-Z a-z 0-9 _ . -)")
    return text


def _macmap(text: str) -> tuple[tuple[str, str], ...]:
    """``MAC=IP`` pairs separated by spaces or commas (Eucalyptus' VNET_MACMAP); MACs are
    returned in lower case. Duplicate MACs or addresses are refused."""
    pairs: list[tuple[str, str]] = []
    for item in text.replace(",", " ").split():
        mac, sep, ip = item.partition("=")
        mac = mac.lower()
        if not sep or not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac):
            raise ValueError(f"{item!r} is not MAC=IP")
        pairs.append((mac, _ipv4(ip)))
    if len({m for m, _ in pairs}) != len(pairs) or len({i for _, i in pairs}) != len(pairs):
        raise ValueError("a MAC or an address appears twice")
    return tuple(pairs)


def _ipv4_cidr(text: str) -> str:
    """An IPv4 address with its prefix length, e.g. ``10.88.0.1/24``."""
    if "/" not in text:
        raise ValueError("must be an IPv4 address with a prefix length, e.g. 10.88.0.1/24")
    iface = ipaddress.IPv4Interface(text)
    return f"{iface.ip}/{iface.network.prefixlen}"


def _database_url(text: str) -> str:
    if text and not re.match(r"(sqlite|postgresql)(\+\w+)?://", text):
        raise ValueError("must be a sqlite:/// or postgresql:// URL")
    return text


def _path(text: str) -> str:
    return text


def _s3_domains(text: str) -> str:
    for item in text.replace(",", " ").split():
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", item):
            raise ValueError(f"{item!r} is not a domain name")
    return text


def _port_range(text: str) -> tuple[int, int]:
    """``A-B``: the TCP ports A to B inclusive."""
    first, _, last = text.partition("-")
    a, b = _port(first), _port(last or first)
    if b < a:
        raise ValueError(f"range {text} ends before it starts")
    return a, b


@dataclass(frozen=True)
class Key:
    """One configuration key: its Eucalyptus name, parser, default (as text) and meaning."""
    name: str
    parse: Callable[[str], Any]
    default: str
    description: str
    section: str = "general"


KEYS: dict[str, Key] = {k.name: k for k in [
    Key("EUCALYPTUS", _path, "", "Home of this installation; empty means the data directory.",
        "general"),
    Key("LOGLEVEL", _choice("DEBUG", "INFO", "WARN", "ERROR", "FATAL"), "INFO",
        "Log level of every component.", "general"),
    Key("REGION", _name, "eucalyptus", "Region name reported to clients (DescribeRegions).",
        "general"),
    Key("ZONE", _name, "eucalyptus-1a",
        "Availability zone served by this cluster controller (Eucalyptus' cluster partition).",
        "general"),
    Key("DATABASE_URL", _database_url, "",
        "SQLAlchemy URL of the cloud database; empty means SQLite in DIR/db/eucalyptus.sqlite. "
        "Example: postgresql://eucalyptus@127.0.0.1:5432/eucalyptus", "general"),
    Key("BIND_ADDRESS", _ipv4, "127.0.0.1", "Address every component listens on.", "general"),
    Key("CLC_HOST", _host, "127.0.0.1", "Host where the cloud controller is reached.",
        "components"),
    Key("CLC_PORT", _port, "8773", "Port of the cloud controller (EC2, IAM, STS APIs).",
        "components"),
    Key("CC_HOST", _host, "127.0.0.1", "Host where the cluster controller is reached.",
        "components"),
    Key("CC_PORT", _port, "8774", "Port of the cluster controller.", "components"),
    Key("NC_PORT", _port, "8775", "Port of the node controller.", "components"),
    Key("SC_HOST", _host, "127.0.0.1", "Host where the storage controller is reached.",
        "components"),
    Key("SC_PORT", _port, "8776", "Port of the storage controller.", "components"),
    Key("WALRUS_HOST", _host, "127.0.0.1", "Host where Walrus (object storage) is reached.",
        "components"),
    Key("WALRUS_PORT", _port, "8777", "Port of Walrus (the S3 API).", "components"),
    Key("WALRUS_WORKERS", _count, "0",
        "Walrus worker processes sharing its port; 0 means one per CPU core.", "components"),
    Key("S3_DOMAIN", _s3_domains, "s3.localhost",
        "Domains under which Host: <bucket>.<domain> names a bucket (virtual-hosted S3 "
        "style), separated by spaces; the host of S3_URL always counts too.", "components"),
    Key("WALRUS_LIFECYCLE_INTERVAL", _positive, "600",
        "Seconds between two runs of Walrus' lifecycle sweeper (bucket expiration rules).",
        "walrus"),
    Key("WALRUS_LIFECYCLE_DAY_SECONDS", _positive, "86400",
        "Length in seconds of one lifecycle 'day'. For tests only: keep 86400 in production.",
        "walrus"),
    Key("WALRUS_DELETE_GRACE", _count, "60",
        "Seconds the bytes of a deleted small object (kept with others in a segment file) "
        "stay readable to a download that found the object just before. For tests only: "
        "keep 60 in production.", "walrus"),
    Key("STARTER_IMAGE", _choice("yes", "no", case=str.lower), "yes",
        "Build and register the public starter image (eki/eri/emi) at the first start.",
        "general"),
    Key("NODES", _nodes, "",
        "Node controllers the cluster controller polls: host[:port] separated by spaces.",
        "cluster"),
    Key("NC_POLLING_FREQUENCY", _positive, "5",
        "Seconds between the cluster controller's polls of each node.", "cluster"),
    Key("SCHEDPOLICY", _choice("GREEDY", "ROUNDROBIN", "POWERSAVE"), "ROUNDROBIN",
        "How the cluster controller picks a node for a new instance.", "cluster"),
    Key("HYPERVISOR", _choice("auto", "kvm", "tcg", case=str.lower), "auto",
        "QEMU accelerator: kvm, tcg (emulation) or auto (kvm when a probe guest boots).", "node"),
    Key("MAX_CORES", _count, "0", "Cores the node offers to instances; 0 means all host cores.",
        "node"),
    Key("MAX_MEM", _count, "0", "Memory (MiB) the node offers; 0 means all host memory.",
        "node"),
    Key("MAX_DISK", _count, "0",
        "Disk (GiB) the node offers under INSTANCE_PATH; 0 means the file system's size.", "node"),
    Key("INSTANCE_PATH", _path, "", "Directory of instance files; empty means DIR/instances.",
        "node"),
    Key("NC_DRIVER", _path, "qemu",
        "Hypervisor driver of the node: qemu, or module:Class of another implementation.",
        "node"),
    Key("NC_CACHE_SIZE", _count, "10240",
        "Size bound (MiB) of the node's image cache under INSTANCE_PATH/cache.", "node"),
    Key("VNET_MODE", _choice("SYSTEM", "STATIC", "MANAGED-NOVLAN", "MANAGED"), "MANAGED-NOVLAN",
        "Networking mode, as in Eucalyptus.", "network"),
    Key("VNET_SUBNET", _ipv4, "10.77.0.0", "Private network instances draw addresses from.",
        "network"),
    Key("VNET_NETMASK", _netmask, "255.255.0.0", "Netmask of VNET_SUBNET.", "network"),
    Key("VNET_ADDRSPERNET", _positive, "32",
        "Addresses per security-group network in the managed modes.", "network"),
    Key("VNET_PUBLICIPS", _public_ips, "10.88.0.50-10.88.0.99",
        "Public (elastic) addresses: single addresses or A-B ranges separated by spaces.",
        "network"),
    Key("VNET_PUBINTERFACE", _ifname, "eucapub0",
        "Interface of the cluster controller's network facing the public network; public "
        "addresses in use are put on it. Cloud-in-a-box makes it a bridge in its namespace "
        "when it does not exist.", "network"),
    Key("VNET_PUBLIC_ADDRESS", _ipv4_cidr, "10.88.0.1/24",
        "The cluster controller's own address (CIDR) on VNET_PUBINTERFACE when it makes "
        "that interface.", "network"),
    Key("VNET_DNS", _optional_ipv4, "", "DNS server handed to instances; empty means none.",
        "network"),
    Key("SC_VOLUME_DRIVER", _path, "file",
        "Volume driver of the storage controller: file (sparse raw files), qcow2, or "
        "module:Class of another implementation.", "storage"),
    Key("SC_VOLUMES_PATH", _path, "", "Directory of volume images; empty means DIR/sc/volumes.",
        "storage"),
    Key("SC_MAX_GIB", _count, "0",
        "Quota (GiB) of all volumes the storage controller holds; 0 means no quota beyond the "
        "free space of SC_VOLUMES_PATH.", "storage"),
    Key("SC_NBD_TRANSPORT", _choice("unix", "tcp", case=str.lower), "unix",
        "How volumes are exported over NBD: unix (a socket, for nodes on the storage "
        "controller's machine) or tcp (on BIND_ADDRESS, for nodes on other hosts).", "storage"),
    Key("SC_NBD_PORTS", _port_range, "10809-10908",
        "TCP ports (A-B) of NBD exports when SC_NBD_TRANSPORT is tcp; one per exported volume.",
        "storage"),
    Key("SC_SNAPSHOT_BUCKET", _name, "eucalyptus-snapshots",
        "Walrus bucket (of the cloud account) holding the snapshots of every zone.", "storage"),
    Key("SC_SNAPSHOT_CHUNK_MIB", _positive, "8",
        "Size (MiB) of the chunk objects snapshots are stored as in Walrus.", "storage"),
    Key("VNET_BRIDGE", _ifname, "eucabr0",
        "Bridge instances are plugged into: in MANAGED-NOVLAN and STATIC the bridge of every "
        "private network, in SYSTEM the bridge of the existing network (whose own DHCP "
        "gives the addresses). MANAGED uses eucabr<vlan> per network instead.", "network"),
    Key("VNET_PRIVINTERFACE", _optional_ifname, "",
        "Interface joining the hosts' private networks (multi-host): enslaved to the bridge, "
        "or its VLAN sub-interfaces <iface>.<vlan> in MANAGED. Empty: one host, no uplink.",
        "network"),
    Key("VNET_MACMAP", _macmap, "",
        "STATIC mode: the instances' fixed MAC=IP pairs separated by spaces, e.g. "
        "\"d0:0d:00:00:00:01=10.77.0.10 d0:0d:00:00:00:02=10.77.0.11\".", "network"),
    Key("VNET_NAMESPACE", _optional_netns, "",
        "Network namespace that is this host's network (multi-host: the components run in it "
        "with `ip netns exec`, and build bridges and taps there). Empty: cloud-in-a-box, the "
        "cluster controller makes its own namespace euca-<8 hex digits>.", "network"),
]}


def _unquote(raw: str) -> str:
    """The value of ``KEY=value`` text: shell-style quotes removed, a trailing comment dropped."""
    try:
        parts = shlex.split(raw, comments=True, posix=True)
    except ValueError as exc:
        raise ValueError(f"cannot parse {raw!r}: {exc}") from None
    return " ".join(parts)


def read_conf(path: Path) -> dict[str, tuple[str, int]]:
    """Raw ``KEY -> (value, line number)`` of a conf file; unknown keys raise ConfigError."""
    values: dict[str, tuple[str, int]] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("export "):
            text = text[len("export "):].strip()
        key, sep, raw = text.partition("=")
        key = key.strip()
        where = f"{path}:{lineno}"
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ConfigError(f"{where}: expected KEY=\"value\", got {line.strip()!r}")
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown configuration key {key}")
        try:
            values[key] = (_unquote(raw), lineno)
        except ValueError as exc:
            raise ConfigError(f"{where}: bad value for {key}: {exc}") from None
    return values


class Settings:
    """Validated settings of one data directory.

    Every key is an attribute in lower case (``settings.clc_port``); ``data_dir`` is the
    resolved data directory and ``sources`` tells where each non-default value came from.
    """

    def __init__(self, data_dir: Path, values: dict[str, Any], sources: dict[str, str]):
        self.data_dir = data_dir
        self.values = values
        self.sources = sources

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name.upper()]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def region(self) -> str:
        return self.values["REGION"]

    @property
    def zone(self) -> str:
        return self.values["ZONE"]

    @property
    def home(self) -> Path:
        return Path(self.values["EUCALYPTUS"] or self.data_dir)

    @property
    def database_url(self) -> str:
        url = self.values["DATABASE_URL"]
        return url or f"sqlite:///{(self.data_dir / 'db' / 'eucalyptus.sqlite').resolve()}"

    @property
    def instance_path(self) -> Path:
        return Path(self.values["INSTANCE_PATH"] or self.data_dir / "instances")

    def port(self, component: str) -> int:
        return self.values[f"{component.upper()}_PORT"]

    def host(self, component: str) -> str:
        return "127.0.0.1" if component == "nc" else self.values[f"{component.upper()}_HOST"]

    def url(self, component: str) -> str:
        """Base URL of a component, e.g. ``http://127.0.0.1:8773``."""
        return f"http://{self.host(component)}:{self.port(component)}"

    def service_urls(self) -> dict[str, str]:
        """User-facing endpoints as eucarc names them."""
        clc = self.url("clc")
        return {
            "ec2": f"{clc}/services/compute",
            "iam": f"{clc}/services/Euare",
            "sts": f"{clc}/services/Tokens",
            "s3": f"{self.url('walrus')}/services/objectstorage",
        }

    def path(self, *parts: str) -> Path:
        return self.data_dir.joinpath(*parts)


def load_settings(data_dir: str | Path, env: Mapping[str, str] | None = None,
                  overrides: Mapping[str, str] | None = None) -> Settings:
    """Settings of ``data_dir`` from its conf file (if present), ``env`` and ``overrides``.

    ``overrides`` (raw text by key) win over everything; used for ``--port-base``.
    Raises ConfigError naming the key and its source on any unknown key or bad value.
    """
    env = os.environ if env is None else env
    data_dir = Path(data_dir).resolve()
    conf = data_dir / CONF_NAME
    raw: dict[str, tuple[str, str]] = {}
    if conf.exists():
        for key, (value, lineno) in read_conf(conf).items():
            raw[key] = (value, f"{conf}:{lineno}")
    for key in KEYS:
        if ENV_PREFIX + key in env:
            raw[key] = (env[ENV_PREFIX + key], f"environment variable {ENV_PREFIX}{key}")
    for key, value in (overrides or {}).items():
        if key not in KEYS:
            raise ConfigError(f"unknown configuration key {key}")
        raw[key] = (str(value), "command line")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, spec in KEYS.items():
        text, source = raw.get(key, (spec.default, "default"))
        try:
            values[key] = spec.parse(text.strip())
        except ValueError as exc:
            reason = str(exc) or "invalid"
            if reason.startswith("invalid literal for int()"):
                reason = "must be an integer"
            raise ConfigError(f"{source}: bad value for {key}={text!r}: {reason}") from None
        sources[key] = source
    ports = [values[f"{c.upper()}_PORT"] for c in COMPONENTS]
    if len(set(ports)) != len(ports):
        raise ConfigError("CLC_PORT, CC_PORT, NC_PORT, SC_PORT and WALRUS_PORT must differ")
    return Settings(data_dir, values, sources)


def ports_from_base(base: int) -> dict[str, str]:
    """``--port-base N``: clc N, cc N+1, nc N+2, sc N+3, walrus N+4 as conf overrides."""
    if not 1 <= base <= 65535 - 4:
        raise ConfigError(f"--port-base {base}: must leave room for five ports below 65536")
    return {f"{c.upper()}_PORT": str(base + off) for c, off in PORT_OFFSETS.items()}


def update_conf(path: Path, updates: Mapping[str, str]) -> None:
    """Set ``KEY="value"`` lines in a conf file in place, appending keys it lacks."""
    lines = path.read_text().splitlines() if path.exists() else []
    pending = dict(updates)
    for i, line in enumerate(lines):
        key = line.strip().removeprefix("export ").partition("=")[0].strip()
        if key in pending and not line.lstrip().startswith("#"):
            lines[i] = f'{key}="{pending.pop(key)}"'
    lines += [f'{key}="{value}"' for key, value in pending.items()]
    path.write_text("\n".join(lines) + "\n")


def example_text() -> str:
    """The documented example configuration, every key commented out at its default."""
    out = [
        "# eucalyptus.conf: settings of one data directory (DIR/eucalyptus.conf).",
        "# KEY=\"value\" lines; # starts a comment. Environment variables EUCA_<KEY> override",
        "# the file. An unknown key or a bad value stops start-up naming the key and line.",
        "# Generated from eucalyptus/config.py (python -m eucalyptus.config > FILE).",
    ]
    section = None
    for key in KEYS.values():
        if key.section != section:
            section = key.section
            out += ["", f"# --- {section} " + "-" * (60 - len(section))]
        choices = getattr(key.parse, "choices", None)
        out.append("")
        out.append(f"# {key.description}")
        if choices:
            out.append(f"# One of: {' | '.join(choices)}")
        out.append(f'#{key.name}="{key.default}"')
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(example_text(), end="")
