"""DescribeRegions: one region, its endpoint taken from the request."""
import asyncio

import pytest

from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.errors import InvalidParameterValue
from eucalyptus.services import ec2
from tests.fakes.clc_component import FakeClc, request_context

TABLE = DispatchTable("ec2", ec2.HANDLER_MODULES)


def call(params=None, region="eucalyptus", host="10.1.2.3:8773", scheme="http"):
    ctx = request_context(None, FakeClc(region=region), operation="DescribeRegions",
                          host=host, scheme=scheme)
    return asyncio.run(TABLE.call(ctx, params or {}))["Regions"]


def test_one_region_with_request_endpoint():
    assert call() == [{"RegionName": "eucalyptus",
                       "Endpoint": "http://10.1.2.3:8773/services/compute",
                       "OptInStatus": "opt-in-not-required"}]


def test_region_name_and_scheme_follow_settings_and_request():
    (region,) = call(region="lab", host="cloud.example:443", scheme="https")
    assert region["RegionName"] == "lab"
    assert region["Endpoint"] == "https://cloud.example:443/services/compute"


def test_missing_host_falls_back_to_the_user_api_port():
    assert call(host="")[0]["Endpoint"] == "http://127.0.0.1:8773/services/compute"


@pytest.mark.parametrize("params, count", [
    ({"RegionNames": ["eucalyptus"]}, 1),
    ({"AllRegions": True}, 1),
    ({"Filters": [{"Name": "region-name", "Values": ["euca*"]}]}, 1),
    ({"Filters": [{"Name": "region-name", "Values": ["us-east-1"]}]}, 0),
    ({"Filters": [{"Name": "endpoint", "Values": ["*10.1.2.3*"]}]}, 1),
    ({"Filters": [{"Name": "endpoint", "Values": ["https://*"]}]}, 0),
    ({"Filters": [{"Name": "opt-in-status", "Values": ["opt-in-not-required"]}]}, 1),
])
def test_names_and_filters(params, count):
    assert len(call(params)) == count


def test_unknown_region_name():
    with pytest.raises(InvalidParameterValue) as err:
        call({"RegionNames": ["eucalyptus", "us-west-2"]})
    assert err.value.code == "InvalidParameterValue"
    assert err.value.message == "Invalid region: us-west-2"


def test_unknown_filter():
    with pytest.raises(InvalidParameterValue, match="The filter 'name' is invalid"):
        call({"Filters": [{"Name": "name", "Values": ["x"]}]})
