"""DescribeAccountAttributes: platforms, default VPC and limits from cloud properties."""
import asyncio

import pytest

from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.schema import CloudProperty
from eucalyptus.errors import InvalidParameterValue
from eucalyptus.services import ec2
from eucalyptus.services.ec2.account_attributes import ATTRIBUTE_NAMES, limit
from tests.fakes.clc_component import request_context

TABLE = DispatchTable("ec2", ec2.HANDLER_MODULES)


@pytest.fixture
def session(tmp_path):
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    with db.session() as s:
        yield s
    db.dispose()


def call(session, **params):
    ctx = request_context(session, operation="DescribeAccountAttributes")
    out = asyncio.run(TABLE.call(ctx, params))["AccountAttributes"]
    return {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]] for a in out}


def test_all_attributes_by_default(session):
    assert call(session) == {
        "supported-platforms": ["EC2"], "default-vpc": ["none"], "max-instances": ["20"],
        "vpc-max-security-groups-per-interface": ["5"], "max-elastic-ips": ["5"],
        "vpc-max-elastic-ips": ["5"]}


def test_named_attributes_in_the_order_asked(session):
    ctx = request_context(session, operation="DescribeAccountAttributes")
    out = asyncio.run(TABLE.call(ctx, {"AttributeNames": ["max-elastic-ips", "default-vpc",
                                                          "max-elastic-ips"]}))
    assert [a["AttributeName"] for a in out["AccountAttributes"]] == ["max-elastic-ips",
                                                                       "default-vpc"]


def test_limits_come_from_cloud_properties(session):
    session.add(CloudProperty(name="cloud.network.max_elastic_ips", value="12"))
    session.add(CloudProperty(name="cloud.compute.max_instances", value=" 100 "))
    session.add(CloudProperty(name="cloud.vpc.max_elastic_ips", value="lots"))  # ignored
    session.flush()
    out = call(session, AttributeNames=list(ATTRIBUTE_NAMES))
    assert out["max-elastic-ips"] == ["12"]
    assert out["max-instances"] == ["100"]
    assert out["vpc-max-elastic-ips"] == ["5"]
    assert limit(session, "max-elastic-ips") == 12


@pytest.mark.parametrize("names", [["bogus"], ["default-vpc", "max-volumes"], [""]])
def test_unknown_attribute(session, names):
    with pytest.raises(InvalidParameterValue) as err:
        call(session, AttributeNames=names)
    assert err.value.code == "InvalidParameterValue"
    assert "is invalid. Unknown attribute." in err.value.message


def test_vpc_platform_once_the_account_has_a_vpc(session, monkeypatch):
    from sqlalchemy import String
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    from eucalyptus.db import schema

    class OwnBase(DeclarativeBase):
        pass

    class Vpc(OwnBase):
        __tablename__ = "vpcs_under_test"
        id: Mapped[str] = mapped_column(String(32), primary_key=True)
        account_id: Mapped[str] = mapped_column(String(12))

    OwnBase.metadata.create_all(session.connection())
    monkeypatch.setattr(schema, "Vpc", Vpc, raising=False)
    assert call(session)["supported-platforms"] == ["EC2"]
    session.add(Vpc(id="vpc-1", account_id="999999999999"))     # another account's
    session.flush()
    assert call(session)["supported-platforms"] == ["EC2"]
    session.add(Vpc(id="vpc-2", account_id="123456789012"))
    session.flush()
    assert call(session)["supported-platforms"] == ["EC2", "VPC"]
