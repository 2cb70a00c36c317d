"""euca-describe-regions, -availability-zones and -instance-types against the live cloud."""
from __future__ import annotations

import json

from eucalyptus.cli.regions import (describe_availability_zones, describe_instance_types,
                                    describe_regions)
from tests.api.cli_runner import SQLITE_ONLY, cli  # noqa: F401 (a fixture)

pytestmark = SQLITE_ONLY


def test_regions(cli, cloud):
    assert cli(describe_regions).ok() == [
        f"REGION\t{cloud.env['AWS_DEFAULT_REGION']}\t{cloud.env['EC2_URL']}"]


def test_json_prints_the_response_without_metadata(cli, cloud):
    document = json.loads("\n".join(cli(describe_regions, "--json").ok()))
    assert set(document) == {"Regions"}
    assert document["Regions"] == cloud.client("ec2").describe_regions()["Regions"]
    assert document["Regions"][0]["Endpoint"] == cloud.env["EC2_URL"]


def test_unknown_region_is_the_clouds_error(cli):
    ran = cli(describe_regions, "nowhere")
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == ("euca-describe-regions: error (InvalidParameterValue): Invalid region: "
                       "nowhere\n")


def test_zones_and_the_verbose_capacity_report(cli, cloud):
    zones = [z["ZoneName"] for z in
             cloud.client("ec2").describe_availability_zones()["AvailabilityZones"]]
    plain = [f"AVAILABILITYZONE\t{zone}\tavailable" for zone in zones]
    assert cli(describe_availability_zones).ok() == plain
    assert cli(describe_availability_zones, zones[0]).ok() == plain[:1]
    verbose = cli(describe_availability_zones, "verbose").ok()
    assert verbose[:len(plain) + 1] == plain + [
        "AVAILABILITYZONE\t|- vm types\tfree / max   cpu   ram  disk"]
    small = [line.split("\t") for line in verbose if line.split("\t")[1] == "|- m1.small"]
    assert len(small) == 1
    free, slash, most, cpu, ram, disk = small[0][2].split()
    assert (slash, cpu, ram, disk) == ("/", "1", "256", "5") and int(most) >= int(free) >= 0
    ran = cli(describe_availability_zones, "nozone")
    assert ran.status == 1 and ran.err == ("euca-describe-availability-zones: error "
                                           "(InvalidParameterValue): The zone 'nozone' does not "
                                           "exist.\n")


def test_instance_types_all_by_name_and_by_filter(cli, cloud):
    types = cloud.client("ec2").describe_instance_types()["InstanceTypes"]
    expected = {t["InstanceType"]: (f"INSTANCETYPE\t{t['InstanceType']}\t"
                                    f"{t['VCpuInfo']['DefaultVCpus']}\t"
                                    f"{t['MemoryInfo']['SizeInMiB']}\t"
                                    f"{t['InstanceStorageInfo']['TotalSizeInGB']}")
                for t in types}
    out = cli(describe_instance_types).ok()
    assert sorted(out) == sorted(expected.values()) and len(out) >= 3
    assert expected["m1.small"] == "INSTANCETYPE\tm1.small\t1\t256\t5"
    assert cli(describe_instance_types, "m1.large").ok() == [expected["m1.large"]]
    two = cli(describe_instance_types, "--show-capacity", "-F", "vcpu-info.default-vcpus=2").ok()
    assert two[0] == "INSTANCETYPE\tName\tCPUs\tMemory (MiB)\tDisk (GiB)"
    assert sorted(two[1:]) == sorted(line for line in expected.values()
                                     if line.split("\t")[2] == "2")
    assert expected["c1.medium"] in two and expected["m1.small"] not in two


def test_a_bad_filter_is_one_line_before_any_request(cli):
    ran = cli(describe_regions, "-F", "nonsense")
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == "euca-describe-regions: error: filter 'nonsense' is not NAME=VALUE\n"
