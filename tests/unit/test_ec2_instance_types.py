"""DescribeInstanceTypes and the instance type catalogue."""
import asyncio

import botocore.session
import pytest
from botocore.validate import ParamValidator

from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.schema import InstanceType
from eucalyptus.errors import ClientError, InvalidParameterValue
from eucalyptus.services import ec2
from eucalyptus.services.ec2.instance_types import DEFAULT_TYPES, enabled_types, seed
from tests.fakes.clc_component import request_context

EC2 = botocore.session.get_session().get_service_model("ec2")
TABLE = DispatchTable("ec2", ec2.HANDLER_MODULES)


@pytest.fixture
def session(tmp_path):
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    with db.session() as s:
        seed(s)
        yield s
    db.dispose()


def call(session, **params):
    ctx = request_context(session, operation="DescribeInstanceTypes")
    out = asyncio.run(TABLE.call(ctx, params))
    report = ParamValidator().validate(out, EC2.operation_model("DescribeInstanceTypes").output_shape)
    assert not report.has_errors(), report.generate_report()
    return out


def names(out):
    return [t["InstanceType"] for t in out["InstanceTypes"]]


def test_seed_is_idempotent_and_keeps_edits(session):
    assert session.query(InstanceType).count() == len(DEFAULT_TYPES) == 28
    session.get(InstanceType, "m1.small").memory_mib = 300
    assert seed(session) == 0
    assert session.get(InstanceType, "m1.small").memory_mib == 300
    session.delete(session.get(InstanceType, "t3.large"))
    session.flush()
    assert seed(session) == 1


@pytest.mark.parametrize("name, vcpus, mem, disk", [
    ("m1.small", 1, 256, 5), ("c1.medium", 2, 512, 10), ("m3.xlarge", 4, 2048, 15),
    ("hs1.8xlarge", 48, 119808, 24000), ("t2.micro", 1, 1024, 8), ("t3.nano", 2, 512, 8),
])
def test_describe_one_type(session, name, vcpus, mem, disk):
    (info,) = call(session, InstanceTypes=[name])["InstanceTypes"]
    assert info["InstanceType"] == name
    assert info["VCpuInfo"] == {"DefaultVCpus": vcpus, "DefaultCores": vcpus,
                                "DefaultThreadsPerCore": 1}
    assert info["MemoryInfo"] == {"SizeInMiB": mem}
    assert info["InstanceStorageSupported"] is True
    assert info["InstanceStorageInfo"]["TotalSizeInGB"] == disk
    assert info["InstanceStorageInfo"]["Disks"] == [{"SizeInGB": disk, "Count": 1, "Type": "hdd"}]
    assert info["ProcessorInfo"]["SupportedArchitectures"] == ["x86_64"]
    assert info["SupportedVirtualizationTypes"] == ["hvm", "paravirtual"]
    assert info["Hypervisor"] in EC2.shape_for("InstanceTypeHypervisor").enum
    assert info["CurrentGeneration"] is name.startswith(("t2.", "t3."))


def test_describe_all_lists_every_enabled_type_by_name(session):
    out = call(session)
    assert names(out) == sorted(t.name for t in DEFAULT_TYPES)
    assert "NextToken" not in out
    session.get(InstanceType, "cg1.4xlarge").enabled = False
    session.flush()
    assert "cg1.4xlarge" not in names(call(session))


def test_free_tier(session):
    out = call(session, Filters=[{"Name": "free-tier-eligible", "Values": ["true"]}])
    assert names(out) == ["t1.micro", "t2.micro", "t3.micro"]


def test_unknown_and_disabled_types_are_invalid_instance_type(session):
    with pytest.raises(ClientError) as err:
        call(session, InstanceTypes=["m1.small", "m9.huge", "x.y"])
    assert err.value.code == "InvalidInstanceType" and err.value.status == 400
    assert err.value.message == "The following supplied instance types do not exist: [m9.huge, x.y]"
    session.get(InstanceType, "m1.small").enabled = False
    session.flush()
    with pytest.raises(ClientError, match=r"do not exist: \[m1.small\]"):
        call(session, InstanceTypes=["m1.small"])


@pytest.mark.parametrize("filters, expected", [
    ([{"Name": "instance-type", "Values": ["t3.*"]}],
     ["t3.large", "t3.medium", "t3.micro", "t3.nano", "t3.small"]),
    ([{"Name": "vcpu-info.default-vcpus", "Values": ["16"]}],
     ["cc2.8xlarge", "cg1.4xlarge", "cr1.8xlarge"]),
    ([{"Name": "memory-info.size-in-mib", "Values": ["256"]}], ["m1.small", "t1.micro"]),
    ([{"Name": "memory-info.size-in-mib", "Values": ["4096"]},
      {"Name": "vcpu-info.default-vcpus", "Values": ["4", "8"]}], ["m2.4xlarge", "m3.2xlarge"]),
    ([{"Name": "instance-storage-info.total-size-in-gb", "Values": ["120"]}],
     ["cc2.8xlarge", "hi1.4xlarge"]),
    ([{"Name": "instance-storage-info.disk.type", "Values": ["ssd"]}], []),
    ([{"Name": "current-generation", "Values": ["false"]},
      {"Name": "instance-type", "Values": ["m1.*"]}],
     ["m1.large", "m1.medium", "m1.small", "m1.xlarge"]),
    ([{"Name": "processor-info.supported-architecture", "Values": ["arm64"]}], []),
    ([{"Name": "network-info.efa-info.maximum-efa-interfaces", "Values": ["*"]}], []),
])
def test_filters(session, filters, expected):
    assert names(call(session, Filters=filters)) == expected


def test_instance_types_and_filters_combine(session):
    out = call(session, InstanceTypes=["m1.small", "t2.micro"],
               Filters=[{"Name": "memory-info.size-in-mib", "Values": ["1024"]}])
    assert names(out) == ["t2.micro"]


def test_unknown_filter(session):
    with pytest.raises(InvalidParameterValue, match="The filter 'vcpus' is invalid"):
        call(session, Filters=[{"Name": "vcpus", "Values": ["1"]}])


def test_pagination(session):
    seen, token, pages = [], None, 0
    while True:
        params = {"MaxResults": 10}
        if token:
            params["NextToken"] = token
        out = call(session, **params)
        seen += names(out)
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert pages == 3 and seen == sorted(t.name for t in DEFAULT_TYPES)


def test_pagination_with_filters(session):
    f = [{"Name": "instance-type", "Values": ["m*"]}]
    first = call(session, Filters=f, MaxResults=5)
    second = call(session, Filters=f, MaxResults=5, NextToken=first["NextToken"])
    assert names(first) + names(second) == sorted(
        t.name for t in DEFAULT_TYPES if t.name.startswith("m"))
    assert "NextToken" not in second


@pytest.mark.parametrize("params", [{"MaxResults": 4}, {"MaxResults": 101},
                                   {"NextToken": "bogus"}, {"MaxResults": 5, "NextToken": "eyJ9"}])
def test_bad_paging_is_invalid_parameter_value(session, params):
    with pytest.raises(InvalidParameterValue):
        call(session, **params)


def test_token_of_another_operation_is_refused(session):
    from eucalyptus.aws.pagination import encode_token
    with pytest.raises(InvalidParameterValue):
        call(session, MaxResults=5, NextToken=encode_token("DescribeImages", "m1.small"))


def test_enabled_types_smallest_first(session):
    rows = enabled_types(session)
    assert [r.name for r in rows[:3]] == ["m1.small", "t1.micro", "t2.nano"]
    assert rows[-1].name == "hs1.8xlarge"
