"""euca-describe-regions, euca-describe-availability-zones, euca-describe-instance-types.

Records (tab-separated, one per line)::

    REGION            <name>  <endpoint>
    AVAILABILITYZONE  <name>  <state>
    INSTANCETYPE      <name>  <vcpus>  <memory MiB>  <disk GiB>

``euca-describe-availability-zones verbose`` asks for Eucalyptus' capacity report
(``ZoneNames=["verbose"]``); the cloud answers with extra zones named ``|- ...`` whose state
carries the capacity text, and they print as ordinary AVAILABILITYZONE records.
"""
from __future__ import annotations

import argparse
from typing import Iterable

from eucalyptus.cli.command import Command, Record, arg, filter_arg, listing

INSTANCE_TYPE_HEADER = ("INSTANCETYPE", "Name", "CPUs", "Memory (MiB)", "Disk (GiB)")

region_records = listing("Regions", "RegionName", "Endpoint", tag="REGION")
zone_records = listing("AvailabilityZones", "ZoneName", "State", tag="AVAILABILITYZONE")


def instance_type_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    if args.show_capacity:
        yield INSTANCE_TYPE_HEADER
    for item in response.get("InstanceTypes", []):
        yield (
            "INSTANCETYPE",
            item.get("InstanceType"),
            item.get("VCpuInfo", {}).get("DefaultVCpus"),
            item.get("MemoryInfo", {}).get("SizeInMiB"),
            item.get("InstanceStorageInfo", {}).get("TotalSizeInGB", 0),
        )


describe_regions = Command(
    name="euca-describe-regions",
    service="ec2",
    operation="DescribeRegions",
    help="Show the regions of the cloud and their endpoints.",
    args=[arg("RegionNames", param="RegionNames", nargs="*", metavar="REGION",
              help="limit results to these regions"),
          filter_arg()],
    records=region_records,
    json_output=True,
)

describe_availability_zones = Command(
    name="euca-describe-availability-zones",
    service="ec2",
    operation="DescribeAvailabilityZones",
    help="Show availability zones; the argument 'verbose' adds the capacity of each.",
    args=[arg("ZoneNames", param="ZoneNames", nargs="*", metavar="ZONE",
              help="limit results to these zones, or 'verbose'"),
          filter_arg()],
    records=zone_records,
    json_output=True,
)

describe_instance_types = Command(
    name="euca-describe-instance-types",
    service="ec2",
    operation="DescribeInstanceTypes",
    help="Show instance types: CPUs, memory (MiB) and disk (GiB).",
    args=[arg("InstanceTypes", param="InstanceTypes", nargs="*", metavar="TYPE",
              help="limit results to these instance types"),
          arg("--show-capacity", action="store_true", help="print a header line first"),
          filter_arg()],
    records=instance_type_records,
    json_output=True,
)
