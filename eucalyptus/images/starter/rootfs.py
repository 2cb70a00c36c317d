"""What goes into the starter initramfs, taken from the host's Debian packages.

``write_rootfs(archive, modules)`` adds to a ``CpioWriter``: busybox with one symlink per applet,
dropbear and dropbearkey with the shared libraries ``ldd`` names, the kernel modules (in load
order, listed in /etc/eucalyptus/modules), the account files, the DHCP and ACPI hook scripts
and /init (``guest_init.sh``). ``host_inputs()`` lists the host files the result depends on,
so a builder can tell when a rebuild is needed.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from eucalyptus.images.starter.cpio import CpioWriter

INIT_SCRIPT = Path(__file__).with_name("guest_init.sh")
BUSYBOX = Path("/bin/busybox")
PROGRAMS = (Path("/usr/sbin/dropbear"), Path("/usr/bin/dropbearkey"))

# virtio_ring must precede virtio (modinfo hides that dependency); evdev and button make the
# ACPI power button reach acpid.
MODULE_ORDER = ("virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
                "virtio_pci", "virtio_mmio", "failover", "net_failover", "virtio_net",
                "virtio_blk", "virtio-rng", "evdev", "button")

ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "etc/shells": "/bin/sh\n/bin/ash\n",
    "etc/hosts": "127.0.0.1 localhost\n",
    "etc/profile": "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n",
}
UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc hook: configure the leased address and default route
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    ip route del default 2>/dev/null
    for gw in $router; do ip route add default via "$gw" dev "$interface"; break; done
    : > /etc/resolv.conf
    for ns in $dns; do echo "nameserver $ns" >> /etc/resolv.conf; done
    echo "$ip" > /run/eucalyptus/ip ;;
esac
exit 0
"""
POWER_BUTTON = "#!/bin/sh\n# ACPI power button: shut down cleanly\necho 'eucalyptus-init: power button, powering off' > /dev/console\nkill $(cat /run/dropbear.pid 2>/dev/null) 2>/dev/null\nsync\npoweroff -f\n"


def busybox_applets(busybox: Path = BUSYBOX) -> list[str]:
    """Install paths of busybox's applets (``bin/ls``, ``sbin/ip``...), busybox itself excluded."""
    out = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True,
                         check=True).stdout
    return [p for p in out.split() if Path(p).name != "busybox"]


def shared_libraries(program: Path) -> list[Path]:
    """Absolute paths of the libraries ``ldd`` lists for ``program`` (loader included)."""
    out = subprocess.run(["ldd", str(program)], capture_output=True, text=True,
                         check=True).stdout
    libs = []
    for line in out.splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            libs.append(Path(match.group(1)))
    return libs


def host_inputs() -> list[Path]:
    """Host files that end up in the initramfs (busybox, dropbear and their libraries)."""
    files = [BUSYBOX, *PROGRAMS]
    for program in PROGRAMS:
        files += [lib for lib in shared_libraries(program) if lib not in files]
    return files


def find_modules(module_dir: Path, names: tuple[str, ...] = MODULE_ORDER) -> list[Path]:
    """The ``.ko`` files of ``names`` under ``module_dir`` in that order; missing ones skipped
    only when built into the kernel (listed in modules.builtin), else FileNotFoundError."""
    found = {p.name.removesuffix(".ko"): p for p in module_dir.rglob("*.ko")}
    builtin_file = module_dir / "modules.builtin"
    builtin = builtin_file.read_text() if builtin_file.exists() else ""
    out = []
    for name in names:
        if name in found:
            out.append(found[name])
        elif not re.search(rf"/{re.escape(name)}\.ko$", builtin, re.M):
            raise FileNotFoundError(f"kernel module {name}.ko not in {module_dir}")
    return out


def _add_dirs(archive: CpioWriter, path: str, made: set[str]) -> None:
    parts = Path(path).parts
    for i in range(1, len(parts)):
        d = "/".join(parts[:i])
        if d not in made:
            archive.directory(d)
            made.add(d)


def write_rootfs(archive: CpioWriter, modules: list[Path]) -> None:
    """Add the whole starter file system to ``archive`` (see the module docstring)."""
    made: set[str] = set()
    for d in ("dev", "proc", "sys", "run", "tmp", "var/log", "var/run", "etc/eucalyptus",
              "etc/acpi/PWRF", "lib/modules", "root"):
        _add_dirs(archive, d + "/x", made)
    archive.directory("root/.ssh", 0o700)
    archive.device("dev/console", 5, 1)
    archive.device("dev/null", 1, 3, 0o666)
    _add_dirs(archive, "bin/busybox", made)
    archive.file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
    for applet in busybox_applets():
        if applet in archive.names:
            continue
        _add_dirs(archive, applet, made)
        depth = len(Path(applet).parts) - 1
        archive.symlink(applet, "../" * depth + "bin/busybox")
    libs: list[Path] = []
    for program in PROGRAMS:
        name = str(program).lstrip("/")
        _add_dirs(archive, name, made)
        archive.file(name, program.read_bytes(), 0o755)
        libs += [lib for lib in shared_libraries(program) if lib not in libs]
    for lib in libs:
        name = str(lib).lstrip("/")
        _add_dirs(archive, name, made)
        archive.file(name, lib.resolve().read_bytes(), 0o755)
    for mod in modules:
        archive.file(f"lib/modules/{mod.name}", mod.read_bytes())
    archive.file("etc/eucalyptus/modules", "".join(m.name + "\n" for m in modules))
    for name, text in ETC_FILES.items():
        archive.file(name, text)
    archive.file("etc/udhcpc.script", UDHCPC_SCRIPT.encode(), 0o755)
    archive.file("etc/acpi/PWRF/00000080", POWER_BUTTON.encode(), 0o755)
    archive.file("init", INIT_SCRIPT.read_bytes(), 0o755)
