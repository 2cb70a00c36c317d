"""The front door as boto3 and the AWS CLI see it: EC2 basics, signatures and error documents."""
from __future__ import annotations

import datetime as dt
import json
from unittest import mock

import botocore.auth
import pytest
import urllib.error
import urllib.request

from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as failed:
        return failed.code, failed.read()


def signed_post(cloud, url: str, service: str, form: str) -> tuple[int, bytes]:
    """POST a form signed with the admin's key: for requests no botocore client would send."""
    req = AWSRequest(method="POST", url=url, data=form.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    creds = Credentials(cloud.env["AWS_ACCESS_KEY_ID"], cloud.env["AWS_SECRET_ACCESS_KEY"])
    botocore.auth.SigV4Auth(creds, service, cloud.env["AWS_DEFAULT_REGION"]).add_auth(req)
    prepared = req.prepare()
    request = urllib.request.Request(url, data=prepared.body, headers=dict(prepared.headers),
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as failed:
        return failed.code, failed.read()


def error_of(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value


def test_describe_regions_boto3_and_cli(cloud):
    regions = cloud.client("ec2").describe_regions()["Regions"]
    assert [r["RegionName"] for r in regions] == [cloud.env["AWS_DEFAULT_REGION"]]
    assert regions[0]["Endpoint"].startswith("http://127.0.0.1:")
    out = cloud.aws("ec2", "describe-regions", "--output", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Regions"][0]["RegionName"] == cloud.env["AWS_DEFAULT_REGION"]


def test_availability_zones_and_verbose(cloud):
    ec2 = cloud.client("ec2")
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert len(zones) == 1 and zones[0]["State"] == "available"
    verbose = ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
    names = [z["ZoneName"] for z in verbose]
    assert names[0] == zones[0]["ZoneName"] and "|- m1.small" in names
    out = cloud.aws("ec2", "describe-availability-zones", "--zone-names", "verbose",
                    "--output", "text")
    assert out.returncode == 0, out.stderr
    assert "|- m1.small" in out.stdout
    missing = error_of(ec2.describe_availability_zones, ZoneNames=["nowhere-1z"])
    assert missing.response["Error"]["Code"] == "InvalidParameterValue"


def test_instance_types(cloud):
    types = cloud.client("ec2").describe_instance_types(InstanceTypes=["m1.small", "t2.micro"])
    by_name = {t["InstanceType"]: t for t in types["InstanceTypes"]}
    assert by_name["m1.small"]["VCpuInfo"]["DefaultVCpus"] == 1
    assert by_name["m1.small"]["MemoryInfo"]["SizeInMiB"] == 256
    assert by_name["t2.micro"]["MemoryInfo"]["SizeInMiB"] == 1024
    out = cloud.aws("ec2", "describe-instance-types", "--output", "json")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["InstanceTypes"]) >= 20


def test_account_attributes(cloud):
    attrs = cloud.client("ec2").describe_account_attributes()["AccountAttributes"]
    names = {a["AttributeName"] for a in attrs}
    assert {"supported-platforms", "default-vpc", "max-instances"} <= names


def test_sts_caller_identity_cli(cloud):
    out = cloud.aws("sts", "get-caller-identity", "--output", "json")
    assert out.returncode == 0, out.stderr
    ident = json.loads(out.stdout)
    assert ident["Arn"].endswith(":root") and len(ident["Account"]) == 12


def test_unknown_action_and_bad_parameter(cloud):
    status, body = signed_post(cloud, cloud.env["EC2_URL"], "ec2",
                               "Action=NoSuchThing&Version=2016-11-15")
    assert status == 400 and b"<Code>InvalidAction</Code>" in body, body
    status, body = signed_post(cloud, cloud.env["EC2_URL"], "ec2",
                               "Action=DescribeInstanceTypes&Version=2016-11-15&MaxResults=many")
    assert status == 400 and b"<Code>InvalidParameterValue</Code>" in body, body
    status, body = signed_post(cloud, cloud.env["AWS_IAM_URL"], "iam",
                               "Action=CreateUser&Version=2010-05-08")
    assert status == 400 and b"<Code>ValidationError</Code>" in body, body
    ec2 = cloud.client("ec2", config=Config(parameter_validation=False))
    err = error_of(ec2.describe_instance_types, MaxResults=1)
    assert err.response["Error"]["Code"] == "InvalidParameterValue"
    assert err.response["ResponseMetadata"]["RequestId"]


def test_bad_secret_is_signature_mismatch(cloud):
    for service, code in (("ec2", "SignatureDoesNotMatch"), ("iam", "SignatureDoesNotMatch"),
                          ("sts", "SignatureDoesNotMatch")):
        client = cloud.client(service, aws_secret_access_key="x" * 40)
        call = client.describe_regions if service == "ec2" else (
            client.list_users if service == "iam" else client.get_caller_identity)
        err = error_of(call)
        assert err.response["Error"]["Code"] == code
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_key(cloud):
    err = error_of(cloud.client("ec2", aws_access_key_id="AKIANOSUCHKEY0000000").describe_regions)
    assert (err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]) \
        == ("AuthFailure", 401)
    err = error_of(cloud.client("iam", aws_access_key_id="AKIANOSUCHKEY0000000").list_users)
    assert (err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]) \
        == ("InvalidClientTokenId", 403)


def test_expired_request(cloud):
    stale = dt.datetime.utcnow() - dt.timedelta(minutes=30)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: stale):
        err = error_of(cloud.client("ec2").describe_regions)
    assert err.response["Error"]["Code"] == "RequestExpired"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unsigned_request_refused(cloud):
    url = cloud.env["EC2_URL"] + "?Action=DescribeRegions&Version=2016-11-15"
    status, body = http_get(url)
    assert status == 401 and b"<Code>AuthFailure</Code>" in body
    assert b"<RequestID>" in body


def test_presigned_url(cloud):
    req = AWSRequest(method="GET", url=cloud.env["EC2_URL"] + "?Action=DescribeRegions"
                     "&Version=2016-11-15")
    creds = Credentials(cloud.env["AWS_ACCESS_KEY_ID"], cloud.env["AWS_SECRET_ACCESS_KEY"])
    botocore.auth.SigV4QueryAuth(creds, "ec2", cloud.env["AWS_DEFAULT_REGION"],
                                 expires=60).add_auth(req)
    status, body = http_get(req.prepare().url)
    assert status == 200, body
    assert b"<regionName>" in body


def test_sigv2_client(cloud):
    ec2 = cloud.client("ec2", config=Config(signature_version="v2"))
    assert ec2.describe_regions()["Regions"]
