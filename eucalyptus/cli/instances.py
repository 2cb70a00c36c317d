"""euca-run-instances, euca-describe-instances, euca-terminate-instances,
euca-reboot-instances, euca-stop-instances, euca-start-instances, euca-get-console-output,
euca-describe-instance-status.

Records, as euca2ools prints them::

    RESERVATION  r-...  <owner account>  <groups, comma-separated>
    INSTANCE  i-...  emi-...  <public dns>  <private dns>  <state>  <key>  <launch index>
              <product codes>  <type>  <launch time>  <zone>  <kernel>  <ramdisk>  <monitoring>
              <public ip>  <private ip>  ...  <root device type>  <virtualization>
    TAG  instance  i-...  <key>  <value>
    INSTANCE  i-...  <previous state>  <current state>        (terminate, stop, start)
"""
from __future__ import annotations

import argparse
import base64
from pathlib import Path
from typing import Any, Iterable

from eucalyptus.cli.command import Command, Record, arg, filter_arg, filters_param
from eucalyptus.cli.connection import CommandError


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z") if hasattr(value, "strftime") else \
        str(value or "")


def instance_record(i: dict) -> Record:
    return ("INSTANCE", i["InstanceId"], i.get("ImageId"), i.get("PublicDnsName") or "",
            i.get("PrivateDnsName") or "", i["State"]["Name"], i.get("KeyName") or "",
            i.get("AmiLaunchIndex", 0), "", i.get("InstanceType"), _time(i.get("LaunchTime")),
            (i.get("Placement") or {}).get("AvailabilityZone", ""), i.get("KernelId") or "",
            i.get("RamdiskId") or "", "monitoring-" + (i.get("Monitoring") or {}).get(
                "State", "disabled"), i.get("PublicIpAddress") or "",
            i.get("PrivateIpAddress") or "", "", "", i.get("RootDeviceType") or "",
            i.get("VirtualizationType") or "")


def reservation_records(res: dict) -> Iterable[Record]:
    groups = ",".join(g.get("GroupName") or g.get("GroupId", "") for g in res.get("Groups", []))
    yield "RESERVATION", res["ReservationId"], res.get("OwnerId"), groups
    for i in res.get("Instances", []):
        yield instance_record(i)
        for tag in i.get("Tags", []):
            yield "TAG", "instance", i["InstanceId"], tag["Key"], tag.get("Value", "")


def _describe_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    for res in response.get("Reservations", []):
        yield from reservation_records(res)


def _run_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    yield from reservation_records(response)


def _run_build(args: argparse.Namespace) -> dict[str, Any]:
    low, _, high = args.count.partition("-")
    try:
        counts = (int(low), int(high or low))
    except ValueError:
        raise CommandError(f"-n/--instance-count {args.count!r} is not N or MIN-MAX") from None
    params: dict[str, Any] = {"MinCount": counts[0], "MaxCount": counts[1]}
    if args.user_data_file:
        try:
            params["UserData"] = Path(args.user_data_file).read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {args.user_data_file}: {exc.strerror}") from None
    if args.zone:
        params["Placement"] = {"AvailabilityZone": args.zone}
    if args.group:
        params["SecurityGroups"] = args.group
    return params


def _state_records(member: str):
    def records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
        for item in response.get(member, []):
            yield ("INSTANCE", item["InstanceId"], item["PreviousState"]["Name"],
                   item["CurrentState"]["Name"])
    return records


def _console_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    yield response["InstanceId"]
    yield _time(response.get("Timestamp"))
    output = response.get("Output") or ""
    try:        # botocore leaves it base64 when it is not valid text
        output = base64.b64decode(output, validate=True).decode()
    except ValueError:
        pass
    yield output


def _status_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    for s in response.get("InstanceStatuses", []):
        yield ("INSTANCE", s["InstanceId"], s.get("AvailabilityZone"),
               s["InstanceState"]["Name"], s["InstanceState"]["Code"],
               s["InstanceStatus"]["Status"], s["SystemStatus"]["Status"], "", "")


def _block_devices(values: list[str]) -> list[dict]:
    from eucalyptus.cli.block_devices import mappings_param
    return mappings_param(values)


def _ids_arg() -> Any:
    return arg("InstanceIds", param="InstanceIds", nargs="+", metavar="INSTANCE")


run_instances = Command(
    name="euca-run-instances", service="ec2", operation="RunInstances",
    help="Launch instances of an image.",
    args=[arg("ImageId", param="ImageId", metavar="IMAGE"),
          arg("-n", "--instance-count", dest="count", default="1",
              help="how many: N or MIN-MAX (default 1)"),
          arg("-t", "--instance-type", param="InstanceType", help="instance type"),
          arg("-k", "--key", param="KeyName", help="key pair name"),
          arg("-d", "--user-data", param="UserData", help="user data text"),
          arg("-f", "--user-data-file", help="user data from a file"),
          arg("-z", "--availability-zone", dest="zone", help="availability zone"),
          arg("-g", "--group", action="append", default=[], help="security group name"),
          arg("--kernel", param="KernelId", help="kernel image id"),
          arg("--ramdisk", param="RamdiskId", help="ramdisk image id"),
          arg("--client-token", param="ClientToken", help="idempotency token"),
          arg("-b", "--block-device-mapping", param="BlockDeviceMappings", action="append",
              default=[], metavar="DEVICE=MAPPED", convert=_block_devices,
              help="DEVICE=[SNAPSHOT]:[SIZE]:[DELETE_ON_TERMINATION], DEVICE=none, ... "
                   "(repeatable; see euca-register)"),
          arg("--disable-api-termination", param="DisableApiTermination",
              action="store_const", const=True, help="refuse TerminateInstances")],
    build=_run_build,
    records=_run_records,
)

describe_instances = Command(
    name="euca-describe-instances", service="ec2", operation="DescribeInstances",
    help="Show instances by reservation.",
    args=[arg("InstanceIds", param="InstanceIds", nargs="*", metavar="INSTANCE"),
          filter_arg()],
    build=lambda args: {"Filters": filters_param(args.filters)} if args.filters else {},
    records=_describe_records,
    json_output=True,
)

terminate_instances = Command(
    name="euca-terminate-instances", service="ec2", operation="TerminateInstances",
    help="Terminate instances.", args=[_ids_arg()],
    records=_state_records("TerminatingInstances"),
)

stop_instances = Command(
    name="euca-stop-instances", service="ec2", operation="StopInstances",
    help="Stop EBS-backed instances.", args=[_ids_arg()],
    records=_state_records("StoppingInstances"),
)

start_instances = Command(
    name="euca-start-instances", service="ec2", operation="StartInstances",
    help="Start stopped EBS-backed instances.", args=[_ids_arg()],
    records=_state_records("StartingInstances"),
)

reboot_instances = Command(
    name="euca-reboot-instances", service="ec2", operation="RebootInstances",
    help="Reboot running instances.", args=[_ids_arg()],
    records=lambda response, args: [],
)

get_console_output = Command(
    name="euca-get-console-output", service="ec2", operation="GetConsoleOutput",
    help="Show an instance's console output.",
    args=[arg("InstanceId", param="InstanceId", metavar="INSTANCE")],
    records=_console_records,
)

describe_instance_status = Command(
    name="euca-describe-instance-status", service="ec2", operation="DescribeInstanceStatus",
    help="Show the status checks of instances.",
    args=[arg("InstanceIds", param="InstanceIds", nargs="*", metavar="INSTANCE"),
          arg("--include-all-instances", param="IncludeAllInstances", action="store_const",
              const=True, help="not only running ones"),
          filter_arg()],
    build=lambda args: {"Filters": filters_param(args.filters)} if args.filters else {},
    records=_status_records,
)
