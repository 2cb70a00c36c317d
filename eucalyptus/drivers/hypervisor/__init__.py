"""Hypervisor drivers: the interface in ``base``, QEMU in ``qemu`` (control over ``qmp``),
accelerator choice in ``accel``."""
