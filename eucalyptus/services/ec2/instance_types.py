"""Instance types: the catalogue in the ``instance_types`` table and DescribeInstanceTypes.

``DEFAULT_TYPES`` holds Eucalyptus' classic types with their Eucalyptus sizes, plus the AWS
t2/t3 families; ``seed(session)`` adds whichever of them are missing and never changes a row an
administrator has edited. Only enabled types are offered. Every type runs on QEMU/KVM with its
root disk as local instance storage, so the description below is the same for all of them but
for the sizes read from the table.
"""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws.dispatch import operation
from eucalyptus.aws.pagination import ec2_page
from eucalyptus.db.schema import InstanceType
from eucalyptus.errors import ClientError

# DescribeInstanceTypes' MaxResults shape (DITMaxResults) allows 5..100.
MAX_RESULTS = 100

# The model's InstanceTypeHypervisor enum knows only "nitro" and "xen"; Nitro is KVM-based,
# which is what QEMU gives us, so that is the value SDKs with strict enums can read.
HYPERVISOR = "nitro"


class TypeSpec(NamedTuple):
    name: str
    vcpus: int
    memory_mib: int
    disk_gib: int


DEFAULT_TYPES: tuple[TypeSpec, ...] = tuple(TypeSpec(*row) for row in (
    ("t1.micro", 1, 256, 5),
    ("m1.small", 1, 256, 5),
    ("m1.medium", 1, 512, 10),
    ("c1.medium", 2, 512, 10),
    ("m1.large", 2, 512, 10),
    ("m1.xlarge", 2, 1024, 10),
    ("c1.xlarge", 2, 2048, 10),
    ("m2.xlarge", 2, 2048, 10),
    ("m3.xlarge", 4, 2048, 15),
    ("m2.2xlarge", 2, 4096, 30),
    ("m3.2xlarge", 4, 4096, 30),
    ("cc1.4xlarge", 8, 3072, 60),
    ("m2.4xlarge", 8, 4096, 60),
    ("hi1.4xlarge", 8, 6144, 120),
    ("cc2.8xlarge", 16, 6144, 120),
    ("cg1.4xlarge", 16, 12288, 200),
    ("cr1.8xlarge", 16, 16384, 240),
    ("hs1.8xlarge", 48, 119808, 24000),
    ("t2.nano", 1, 512, 8),
    ("t2.micro", 1, 1024, 8),
    ("t2.small", 1, 2048, 8),
    ("t2.medium", 2, 4096, 8),
    ("t2.large", 2, 8192, 8),
    ("t3.nano", 2, 512, 8),
    ("t3.micro", 2, 1024, 8),
    ("t3.small", 2, 2048, 8),
    ("t3.medium", 2, 4096, 8),
    ("t3.large", 2, 8192, 8),
))

CURRENT_GENERATION_FAMILIES = ("t2.", "t3.")
FREE_TIER = frozenset({"t1.micro", "t2.micro", "t3.micro"})

INSTANCE_TYPE_FILTERS: filter_engine.FilterTable = {
    "auto-recovery-supported": "AutoRecoverySupported",
    "bare-metal": "BareMetal",
    "burstable-performance-supported": "BurstablePerformanceSupported",
    "current-generation": "CurrentGeneration",
    "dedicated-hosts-supported": "DedicatedHostsSupported",
    "ebs-info.attachment-limit-type": "EbsInfo.AttachmentLimitType",
    "ebs-info.maximum-ebs-attachments": "EbsInfo.MaximumEbsAttachments",
    "ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps":
        "EbsInfo.EbsOptimizedInfo.BaselineBandwidthInMbps",
    "ebs-info.ebs-optimized-info.baseline-iops": "EbsInfo.EbsOptimizedInfo.BaselineIops",
    "ebs-info.ebs-optimized-info.baseline-throughput-in-mbps":
        "EbsInfo.EbsOptimizedInfo.BaselineThroughputInMBps",
    "ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps":
        "EbsInfo.EbsOptimizedInfo.MaximumBandwidthInMbps",
    "ebs-info.ebs-optimized-info.maximum-iops": "EbsInfo.EbsOptimizedInfo.MaximumIops",
    "ebs-info.ebs-optimized-info.maximum-throughput-in-mbps":
        "EbsInfo.EbsOptimizedInfo.MaximumThroughputInMBps",
    "ebs-info.ebs-optimized-support": "EbsInfo.EbsOptimizedSupport",
    "ebs-info.encryption-support": "EbsInfo.EncryptionSupport",
    "ebs-info.nvme-support": "EbsInfo.NvmeSupport",
    "free-tier-eligible": "FreeTierEligible",
    "hibernation-supported": "HibernationSupported",
    "hypervisor": "Hypervisor",
    "instance-storage-info.disk.count": "InstanceStorageInfo.Disks.Count",
    "instance-storage-info.disk.size-in-gb": "InstanceStorageInfo.Disks.SizeInGB",
    "instance-storage-info.disk.type": "InstanceStorageInfo.Disks.Type",
    "instance-storage-info.encryption-support": "InstanceStorageInfo.EncryptionSupport",
    "instance-storage-info.nvme-support": "InstanceStorageInfo.NvmeSupport",
    "instance-storage-info.total-size-in-gb": "InstanceStorageInfo.TotalSizeInGB",
    "instance-storage-supported": "InstanceStorageSupported",
    "instance-type": "InstanceType",
    "memory-info.size-in-mib": "MemoryInfo.SizeInMiB",
    "network-info.bandwidth-weightings": "NetworkInfo.BandwidthWeightings",
    "network-info.efa-info.maximum-efa-interfaces": "NetworkInfo.EfaInfo.MaximumEfaInterfaces",
    "network-info.efa-supported": "NetworkInfo.EfaSupported",
    "network-info.ena-support": "NetworkInfo.EnaSupport",
    "network-info.flexible-ena-queues-support": "NetworkInfo.FlexibleEnaQueuesSupport",
    "network-info.encryption-in-transit-supported": "NetworkInfo.EncryptionInTransitSupported",
    "network-info.ipv4-addresses-per-interface": "NetworkInfo.Ipv4AddressesPerInterface",
    "network-info.ipv6-addresses-per-interface": "NetworkInfo.Ipv6AddressesPerInterface",
    "network-info.ipv6-supported": "NetworkInfo.Ipv6Supported",
    "network-info.maximum-network-cards": "NetworkInfo.MaximumNetworkCards",
    "network-info.maximum-network-interfaces": "NetworkInfo.MaximumNetworkInterfaces",
    "network-info.network-performance": "NetworkInfo.NetworkPerformance",
    "nitro-enclaves-support": "NitroEnclavesSupport",
    "nitro-tpm-support": "NitroTpmSupport",
    "nitro-tpm-info.supported-versions": "NitroTpmInfo.SupportedVersions",
    "processor-info.supported-architecture": "ProcessorInfo.SupportedArchitectures",
    "processor-info.sustained-clock-speed-in-ghz": "ProcessorInfo.SustainedClockSpeedInGhz",
    "processor-info.supported-features": "ProcessorInfo.SupportedFeatures",
    "reboot-migration-support": "RebootMigrationSupport",
    "supported-boot-mode": "SupportedBootModes",
    "supported-root-device-type": "SupportedRootDeviceTypes",
    "supported-usage-class": "SupportedUsageClasses",
    "supported-virtualization-type": "SupportedVirtualizationTypes",
    "vcpu-info.default-cores": "VCpuInfo.DefaultCores",
    "vcpu-info.default-threads-per-core": "VCpuInfo.DefaultThreadsPerCore",
    "vcpu-info.default-vcpus": "VCpuInfo.DefaultVCpus",
    "vcpu-info.valid-cores": "VCpuInfo.ValidCores",
    "vcpu-info.valid-threads-per-core": "VCpuInfo.ValidThreadsPerCore",
}


def seed(session: Session) -> int:
    """Add the DEFAULT_TYPES missing from the table; return how many were added."""
    present = set(session.scalars(select(InstanceType.name)))
    added = 0
    for spec in DEFAULT_TYPES:
        if spec.name not in present:
            session.add(InstanceType(name=spec.name, vcpus=spec.vcpus, memory_mib=spec.memory_mib,
                                     disk_gib=spec.disk_gib, enabled=True))
            added += 1
    session.flush()
    return added


def enabled_types(session: Session) -> list[InstanceType]:
    """The instance types on offer, smallest first (vCPUs, memory, disk, then name)."""
    rows = session.scalars(select(InstanceType).where(InstanceType.enabled.is_(True)))
    return sorted(rows, key=lambda t: (t.vcpus, t.memory_mib, t.disk_gib, t.name))


def describe(row: InstanceType) -> dict:
    """One InstanceTypeInfo in the output shape of DescribeInstanceTypes."""
    return {
        "InstanceType": row.name,
        "CurrentGeneration": row.name.startswith(CURRENT_GENERATION_FAMILIES),
        "FreeTierEligible": row.name in FREE_TIER,
        "SupportedUsageClasses": ["on-demand"],
        "SupportedRootDeviceTypes": ["ebs", "instance-store"],
        "SupportedVirtualizationTypes": ["hvm", "paravirtual"],
        "BareMetal": False,
        "Hypervisor": HYPERVISOR,
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "VCpuInfo": {"DefaultVCpus": row.vcpus, "DefaultCores": row.vcpus,
                     "DefaultThreadsPerCore": 1},
        "MemoryInfo": {"SizeInMiB": row.memory_mib},
        "InstanceStorageSupported": True,
        "InstanceStorageInfo": {
            "TotalSizeInGB": row.disk_gib,
            "Disks": [{"SizeInGB": row.disk_gib, "Count": 1, "Type": "hdd"}],
            "NvmeSupport": "unsupported",
            "EncryptionSupport": "unsupported",
        },
        "EbsInfo": {"EbsOptimizedSupport": "unsupported", "EncryptionSupport": "unsupported",
                    "NvmeSupport": "unsupported"},
        "NetworkInfo": {"NetworkPerformance": "Moderate", "MaximumNetworkInterfaces": 1,
                        "MaximumNetworkCards": 1, "Ipv4AddressesPerInterface": 1,
                        "Ipv6AddressesPerInterface": 0, "Ipv6Supported": False,
                        "EnaSupport": "unsupported", "EfaSupported": False,
                        "EncryptionInTransitSupported": False},
        "HibernationSupported": False,
        "BurstablePerformanceSupported": False,
        "DedicatedHostsSupported": False,
        "AutoRecoverySupported": False,
        "SupportedBootModes": ["legacy-bios"],
        "NitroEnclavesSupport": "unsupported",
        "NitroTpmSupport": "unsupported",
    }


@operation
def describe_instance_types(ctx, instance_types: list[str] | None = None,
                            filters: list[dict] | None = None, max_results: int | None = None,
                            next_token: str | None = None, **_) -> dict:
    """DescribeInstanceTypes: enabled types by name, filtered, paged (MaxResults 5..100)."""
    filter_engine.validate(filters, INSTANCE_TYPE_FILTERS)
    rows = {row.name: row for row in enabled_types(ctx.db)}
    if instance_types:
        missing = [name for name in dict.fromkeys(instance_types) if name not in rows]
        if missing:
            raise ClientError("InvalidInstanceType", "The following supplied instance types "
                              f"do not exist: [{', '.join(missing)}]")
        wanted = set(instance_types)
        rows = {name: row for name, row in rows.items() if name in wanted}
    items = filter_engine.apply([describe(row) for row in rows.values()], filters,
                                INSTANCE_TYPE_FILTERS)
    page = ec2_page(items, max_results, next_token, key=lambda item: item["InstanceType"],
                    scope="DescribeInstanceTypes", maximum=MAX_RESULTS)
    return page.ec2_output("InstanceTypes")
