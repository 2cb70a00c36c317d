"""DescribeAvailabilityZones, including Eucalyptus' verbose capacity lines."""
import asyncio

import botocore.session
import pytest
from botocore.validate import ParamValidator

from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.schema import InstanceType
from eucalyptus.errors import InvalidParameterValue
from eucalyptus.services import ec2
from eucalyptus.services.ec2.instance_types import seed
from eucalyptus.services.ec2.zones import capacity_line, fits, zone_id
from tests.fakes.clc_component import FakeClc, cluster, node, request_context

EC2 = botocore.session.get_session().get_service_model("ec2")
TABLE = DispatchTable("ec2", ec2.HANDLER_MODULES)


@pytest.fixture
def session(tmp_path):
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    with db.session() as s:
        seed(s)
        yield s
    db.dispose()


@pytest.fixture
def clc():
    return FakeClc([
        cluster("two", [node("10.0.0.3", cores=2, memory_mib=512, disk_gib=10)],
                state="unavailable"),
        cluster("one", [node("10.0.0.1", cores=4, memory_mib=1024, disk_gib=20),
                        node("10.0.0.2", cores=8, memory_mib=4096, disk_gib=100, cores_free=1,
                             memory_free_mib=256, disk_free_gib=50)]),
        cluster("empty", []),
    ], region="eucalyptus")


def call(session, clc, **params):
    ctx = request_context(session, clc, operation="DescribeAvailabilityZones")
    out = asyncio.run(TABLE.call(ctx, params))
    shape = EC2.operation_model("DescribeAvailabilityZones").output_shape
    report = ParamValidator().validate(out, shape)
    assert not report.has_errors(), report.generate_report()
    return out["AvailabilityZones"]


def zone_names(zones):
    return [z["ZoneName"] for z in zones]


def test_one_zone_per_cluster(session, clc):
    zones = call(session, clc)
    assert zone_names(zones) == ["empty", "one", "two"]
    one = zones[1]
    assert one["State"] == "available" and zones[2]["State"] == "unavailable"
    assert one["RegionName"] == "eucalyptus" and one["ZoneType"] == "availability-zone"
    assert one["ZoneId"] == zone_id("eucalyptus", "one") != zone_id("eucalyptus", "two")
    assert one["ZoneId"] != "one"
    assert one["OptInStatus"] == "opt-in-not-required"
    assert clc.calls == 1


def test_region_follows_settings(session):
    zones = call(session, FakeClc([cluster("z")], region="lab"))
    assert zones[0]["RegionName"] == "lab" and zones[0]["GroupName"] == "lab"


def test_no_clusters_no_zones(session):
    assert call(session, FakeClc([])) == []


def test_by_name_and_id(session, clc):
    assert zone_names(call(session, clc, ZoneNames=["two", "one"])) == ["one", "two"]
    zid = zone_id("eucalyptus", "two")
    assert zone_names(call(session, clc, ZoneIds=[zid])) == ["two"]
    assert zone_names(call(session, clc, ZoneNames=["one"], ZoneIds=[zid])) == ["one", "two"]
    assert zone_names(call(session, clc, AllAvailabilityZones=True)) == ["empty", "one", "two"]


def test_unknown_zone_name(session, clc):
    with pytest.raises(InvalidParameterValue) as err:
        call(session, clc, ZoneNames=["one", "three"])
    assert err.value.message == "The zone 'three' does not exist."
    with pytest.raises(InvalidParameterValue):
        call(session, clc, ZoneNames=["verbose", "three"])


def test_unknown_zone_id(session, clc):
    with pytest.raises(InvalidParameterValue, match="zone ID 'use1-az1' does not exist"):
        call(session, clc, ZoneIds=["use1-az1"])


@pytest.mark.parametrize("name, values, expected", [
    ("state", ["available"], ["empty", "one"]),
    ("state", ["unavailable"], ["two"]),
    ("zone-name", ["t*"], ["two"]),
    ("zone-name", ["one", "two"], ["one", "two"]),
    ("zone-id", [zone_id("eucalyptus", "one")], ["one"]),
    ("region-name", ["eucalyptus"], ["empty", "one", "two"]),
    ("region-name", ["us-east-1"], []),
    ("zone-type", ["availability-zone"], ["empty", "one", "two"]),
    ("zone-type", ["local-zone"], []),
    ("group-name", ["euca*"], ["empty", "one", "two"]),
    ("opt-in-status", ["opt-in-not-required"], ["empty", "one", "two"]),
    ("message", ["*"], []),
])
def test_filters(session, clc, name, values, expected):
    assert zone_names(call(session, clc, Filters=[{"Name": name, "Values": values}])) == expected


def test_unknown_filter(session, clc):
    with pytest.raises(InvalidParameterValue, match="The filter 'zone' is invalid"):
        call(session, clc, Filters=[{"Name": "zone", "Values": ["one"]}])


def test_fits_takes_the_scarcest_resource():
    n = node(cores=8, memory_mib=1024, disk_gib=100, cores_free=3, memory_free_mib=1024,
             disk_free_gib=12)
    assert fits(n, 1, 256, 5, "total") == 4      # memory bound
    assert fits(n, 1, 256, 5, "free") == 2       # disk bound
    assert fits(n, 2, 128, 1, "free") == 1       # cores bound
    assert fits(n, 16, 256, 5, "total") == 0
    assert fits(n, 0, 0, 0, "total") == 0
    assert fits({"host": "x"}, 1, 256, 5, "total") == 0


def test_capacity_line_format():
    assert capacity_line([node(cores=4, memory_mib=1024, disk_gib=20)], 1, 256, 5) == \
        "0004 / 0004   1    256     5"
    assert capacity_line([], 1, 256, 5) == "0000 / 0000   1    256     5"
    assert capacity_line([node(cores=64, memory_mib=10**6, disk_gib=10**6)] * 200, 1, 256, 5) == \
        "12800 / 12800   1    256     5"


def test_verbose_lists_capacity_per_enabled_type(session, clc):
    for row in session.query(InstanceType).all():
        row.enabled = row.name in ("m1.small", "c1.medium", "m1.xlarge")
    session.flush()
    zones = call(session, clc, ZoneNames=["verbose"])
    got = [(z["ZoneName"], z.get("State")) for z in zones]
    assert got == [
        ("empty", "available"),
        ("|- vm types", "free / max   cpu   ram  disk"),
        ("|- m1.small", "0000 / 0000   1    256     5"),
        ("|- c1.medium", "0000 / 0000   2    512    10"),
        ("|- m1.xlarge", "0000 / 0000   2   1024    10"),
        ("one", "available"),
        ("|- vm types", "free / max   cpu   ram  disk"),
        # node 1: min(4, 4, 4)=4 of 4; node 2: max min(8, 16, 20)=8, free min(1, 1, 10)=1
        ("|- m1.small", "0005 / 0012   1    256     5"),
        # node 1: min(2, 2, 2)=2; node 2: max min(4, 8, 10)=4, free min(0, 0, 5)=0
        ("|- c1.medium", "0002 / 0006   2    512    10"),
        # node 1: min(2, 1, 2)=1; node 2: max min(4, 4, 10)=4, free 0
        ("|- m1.xlarge", "0001 / 0005   2   1024    10"),
        ("two", "unavailable"),
        ("|- vm types", "free / max   cpu   ram  disk"),
        ("|- m1.small", "0002 / 0002   1    256     5"),
        ("|- c1.medium", "0001 / 0001   2    512    10"),
        ("|- m1.xlarge", "0000 / 0000   2   1024    10"),
    ]


def test_verbose_among_names_limits_to_those_zones(session, clc):
    zones = call(session, clc, ZoneNames=["one", "verbose"])
    assert zones[0]["ZoneName"] == "one"
    assert all(z["ZoneName"].startswith("|- ") for z in zones[1:])
    assert len(zones) == 1 + 1 + 28


def test_verbose_with_filters_keeps_only_matching_zones(session, clc):
    zones = call(session, clc, ZoneNames=["verbose"],
                 Filters=[{"Name": "state", "Values": ["unavailable"]}])
    assert [z["ZoneName"] for z in zones if not z["ZoneName"].startswith("|-")] == ["two"]
