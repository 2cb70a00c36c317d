"""What the benchmark sends: operations as sequences of signed query-protocol requests.

An ``Operation`` is one unit of work timed as a whole: a single call (DescribeRegions) or a
short sequence (CreateUser then DeleteUser of the same, fresh user). ``prepare(op, server, n)``
builds ``n`` units of ready-to-send requests, each signed with botocore's SigV4Auth on an
AWSRequest for the server's endpoint, region and keys; signing happens before the clock starts
so the client's CPU is not part of what is measured. API versions and the response parsers
come from botocore's service models, read at run time.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable
from urllib.parse import urlencode

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import ServiceModel
from botocore.parsers import create_parser

from bench.peers import Server

FORM = "application/x-www-form-urlencoded; charset=utf-8"

Params = Callable[[str], dict[str, str]]     # unique tag of the unit -> request parameters


@dataclass(frozen=True)
class Step:
    action: str
    params: Params = lambda tag: {}


@dataclass(frozen=True)
class Operation:
    label: str          # as printed: "ec2 DescribeRegions"
    service: str        # botocore service and signing name: ec2, iam, sts
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Call:
    """One signed HTTP request, ready to send as is."""
    action: str
    url: str
    headers: dict[str, str]
    body: bytes


# Named types both sides know, so each answer carries the same ten entries (unfiltered, the
# peer lists its whole catalogue of well over a thousand types and ignores MaxResults).
INSTANCE_TYPES = ("t1.micro", "m1.small", "m1.medium", "c1.medium", "m1.large", "m1.xlarge",
                  "t2.micro", "t2.small", "t2.medium", "t3.micro")


def _instance_types(tag: str) -> dict[str, str]:
    return {f"InstanceType.{i}": name for i, name in enumerate(INSTANCE_TYPES, start=1)}


def _user(tag: str) -> dict[str, str]:
    return {"UserName": f"bench-{tag}"}


OPERATIONS: tuple[Operation, ...] = (
    Operation("ec2 DescribeRegions", "ec2", (Step("DescribeRegions"),)),
    Operation("ec2 DescribeAvailabilityZones", "ec2", (Step("DescribeAvailabilityZones"),)),
    Operation("ec2 DescribeInstanceTypes", "ec2",
              (Step("DescribeInstanceTypes", _instance_types),)),
    Operation("iam ListUsers", "iam", (Step("ListUsers"),)),
    Operation("iam CreateUser+DeleteUser", "iam",
              (Step("CreateUser", _user), Step("DeleteUser", _user))),
    Operation("sts GetCallerIdentity", "sts", (Step("GetCallerIdentity"),)),
)


def find_operations(names: list[str] | None) -> list[Operation]:
    """The operations whose label contains any of ``names`` (case-insensitive); all if none."""
    if not names:
        return list(OPERATIONS)
    wanted = [n.lower() for n in names]
    chosen = [op for op in OPERATIONS if any(w in op.label.lower() for w in wanted)]
    if not chosen:
        raise ValueError(f"no operation matches {names}; known: "
                         + ", ".join(op.label for op in OPERATIONS))
    return chosen


@lru_cache(maxsize=None)
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def sign(server: Server, service: str, action: str, params: dict[str, str]) -> Call:
    url = server.urls[service]
    body = urlencode({"Action": action, "Version": service_model(service).api_version,
                      **params}).encode()
    request = AWSRequest("POST", url, data=body, headers={"Content-Type": FORM})
    credentials = Credentials(server.access_key, server.secret_key)
    SigV4Auth(credentials, service, server.region).add_auth(request)
    return Call(action, url, dict(request.headers.items()), body)


def prepare(op: Operation, server: Server, count: int) -> list[tuple[Call, ...]]:
    """``count`` units of ``op``, each a tuple of signed calls sent in order."""
    run = secrets.token_hex(4)
    units = []
    for i in range(count):
        tag = f"{run}-{i}"
        units.append(tuple(sign(server, op.service, step.action, step.params(tag))
                           for step in op.steps))
    return units


def parse(service: str, action: str, status: int, headers: dict[str, str],
          body: bytes) -> dict:
    """A response decoded by botocore's own parser, as a client would see it."""
    model = service_model(service)
    op_model = model.operation_model(action)
    parser = create_parser(model.protocol)
    shape = op_model.output_shape if status < 300 else None
    return parser.parse({"status_code": status, "headers": headers, "body": body}, shape)


def summarize(parsed: dict) -> str:
    """A short account of a parsed response: its error, or the sizes of its lists."""
    if "Error" in parsed and parsed["Error"].get("Code"):
        return f"error {parsed['Error']['Code']}: {parsed['Error'].get('Message', '')}"
    parts = []
    for key, value in parsed.items():
        if key == "ResponseMetadata":
            continue
        if isinstance(value, list):
            parts.append(f"{len(value)} {key}")
        elif isinstance(value, dict):
            parts.append(f"{key}{{{', '.join(sorted(value))[:60]}}}")
        else:
            parts.append(f"{key}={str(value)[:40]}")
    return "; ".join(parts) or "(empty result)"
