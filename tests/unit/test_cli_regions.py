"""euca-describe-regions, -availability-zones and -instance-types against the loopback cloud."""
from __future__ import annotations

from eucalyptus.cli.regions import (describe_availability_zones, describe_instance_types,
                                    describe_regions)
from test_cli_command import stubbed
from test_cli_fakecloud import (account_models_dir, clean_env, cloud, models, run)  # noqa: F401


def test_regions(cloud, capsys):
    status, out, err = run(describe_regions, [], capsys)
    assert (status, err) == (0, "")
    assert out == [f"REGION\teucalyptus\t{cloud.url}/services/compute"]


def test_unknown_region_is_the_clouds_error(cloud, capsys):
    status, out, err = run(describe_regions, ["nowhere"], capsys)
    assert (status, out) == (1, [])
    assert err == "euca-describe-regions: error (InvalidParameterValue): Invalid region: nowhere\n"
    assert cloud.requests[-1][1]["RegionName.1"] == "nowhere"


def test_zones(cloud, capsys):
    status, out, _ = run(describe_availability_zones, [], capsys)
    assert (status, out) == (0, ["AVAILABILITYZONE\tone\tavailable"])


def test_verbose_zones_print_the_capacity_entries(cloud, capsys):
    status, out, _ = run(describe_availability_zones, ["verbose"], capsys)
    assert status == 0
    assert cloud.requests[-1][1]["ZoneName.1"] == "verbose"
    assert out[:3] == ["AVAILABILITYZONE\tone\tavailable",
                       "AVAILABILITYZONE\t|- vm types\tfree / max   cpu   ram  disk",
                       "AVAILABILITYZONE\t|- m1.small\t0004 / 0004   1   256   5"]
    assert len(out) == 5


def test_instance_types(cloud, capsys):
    status, out, _ = run(describe_instance_types, [], capsys)
    assert status == 0
    assert out == ["INSTANCETYPE\tm1.small\t1\t256\t5", "INSTANCETYPE\tc1.medium\t2\t512\t10",
                   "INSTANCETYPE\tm1.large\t2\t512\t10"]


def test_instance_types_by_name_and_filter_with_header(cloud, capsys):
    status, out, _ = run(describe_instance_types,
                         ["--show-capacity", "-F", "vcpu-info.default-vcpus=2"], capsys)
    assert status == 0
    assert out == ["INSTANCETYPE\tName\tCPUs\tMemory (MiB)\tDisk (GiB)",
                   "INSTANCETYPE\tc1.medium\t2\t512\t10", "INSTANCETYPE\tm1.large\t2\t512\t10"]
    status, out, _ = run(describe_instance_types, ["m1.large"], capsys)
    assert out == ["INSTANCETYPE\tm1.large\t2\t512\t10"]


def test_instance_type_without_local_disk_prints_zero():
    lines = stubbed(describe_instance_types, ["t9.ebs"], "DescribeInstanceTypes",
                    {"InstanceTypes": [{"InstanceType": "t9.ebs",
                                        "VCpuInfo": {"DefaultVCpus": 2},
                                        "MemoryInfo": {"SizeInMiB": 1024}}]},
                    {"InstanceTypes": ["t9.ebs"]})
    assert lines == ["INSTANCETYPE\tt9.ebs\t2\t1024\t0"]


def test_zone_arguments_map_to_zone_names():
    lines = stubbed(describe_availability_zones, ["verbose"], "DescribeAvailabilityZones",
                    {"AvailabilityZones": [{"ZoneName": "|- c1.medium",
                                            "State": "0002 / 0004   2   512   10"}]},
                    {"ZoneNames": ["verbose"]})
    assert lines == ["AVAILABILITYZONE\t|- c1.medium\t0002 / 0004   2   512   10"]
