"""A user command declared as data: its name, service, operation, arguments and record format.

A :class:`Command` instance is the console script itself (``euca-describe-regions =
eucalyptus.cli.regions:describe_regions``): calling it parses ``argv``, connects
(:mod:`eucalyptus.cli.connection`), makes the request and prints one tab-separated record per
line. It returns the exit status: 0 on success, 1 on any failure, which is reported as ONE line
on stderr::

    euca-describe-regions: error (AuthFailure): AWS was not able to validate ...
    euare-userlistbypath: error: no iam endpoint: use -U/--url or set EUARE_URL ...

With ``--debug`` botocore's wire log goes to stderr and a failure also prints its traceback.
Commands declared with ``json_output=True`` accept ``--json``, which prints the (fully
paginated) response as JSON instead of records.

The shapes the families share are built here once: :func:`filter_arg` (EC2 filters),
:func:`listing` (one record per item of a list response) and :func:`emptied_first` (a delete
whose ``-r`` first removes what the entity holds).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import botocore.exceptions

from eucalyptus.cli.connection import CommandError, Connection, add_connection_arguments, connect

Record = Sequence[Any] | str
Response = dict[str, Any]
Records = Callable[[Response, argparse.Namespace], Iterable[Record]]
Run = Callable[[Connection, Any, argparse.Namespace], Response]


@dataclass(frozen=True)
class Arg:
    """One command-line argument; ``param`` names the request member its value fills, after
    ``convert`` (if given) has turned the parsed value into the member's value."""
    flags: tuple[str, ...]
    param: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    convert: Callable[[Any], Any] | None = None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        options = dict(self.options)
        if self.flags[0].startswith("-") and "dest" not in options and self.param:
            options["dest"] = self.param
        parser.add_argument(*self.flags, **options)

    @property
    def dest(self) -> str:
        if "dest" in self.options:
            return self.options["dest"]
        if not self.flags[0].startswith("-"):
            return self.flags[0]
        if self.param:
            return self.param
        long_flags = [flag for flag in self.flags if flag.startswith("--")]
        return (long_flags or list(self.flags))[0].lstrip("-").replace("-", "_")


def arg(*flags: str, param: str | None = None, convert: Callable[[Any], Any] | None = None,
        **options: Any) -> Arg:
    """Declare an argument: ``arg("-u", "--user-name", param="UserName", required=True)``;
    the other keywords go to ``argparse.add_argument``."""
    return Arg(tuple(flags), param, options, convert)


def filter_arg() -> Arg:
    """EC2's ``-F/--filter NAME=VALUE`` (repeatable), filling ``Filters``; values of one name
    are merged (:func:`filters_param`)."""
    return arg("-F", "--filter", param="Filters", convert=filters_param, dest="filters",
               action="append", default=[], metavar="NAME=VALUE",
               help="restrict results (repeatable)")


def filters_param(pairs: Sequence[str]) -> list[dict[str, Any]]:
    """``["a=1", "a=2", "b=x"]`` -> ``[{"Name": "a", "Values": ["1", "2"]}, {...b...}]``."""
    merged: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"filter {pair!r} is not NAME=VALUE")
        merged.setdefault(name, []).append(value)
    return [{"Name": name, "Values": values} for name, values in merged.items()]


def listing(member: str, *fields: str, tag: str | None = None) -> Records:
    """Records of a list response: for each item of ``response[member]``, ``tag`` (when
    given) then the item's ``fields`` (a missing one prints as an empty field)."""
    def records(response: Response, args: argparse.Namespace) -> Iterable[Record]:
        for item in response.get(member, []):
            values = tuple(item.get(name) for name in fields)
            yield (tag, *values) if tag else values
    return records


def emptied_first(operation: str, member: str, empty: Callable[[Any, str], None]) -> Run:
    """A ``run`` for a delete with ``-r/--recursive``: given ``-r`` it first calls
    ``empty(client, name)`` (to remove what would make the delete a conflict), then sends
    ``operation`` with ``member=name``; ``name`` is the parsed value of ``member``."""
    def run(connection: Connection, client: Any, args: argparse.Namespace) -> Response:
        name = getattr(args, member)
        if args.recursive:
            empty(client, name)
        return call(client, operation, **{member: name})
    return run


@dataclass
class Command:
    """A console script. Either ``operation`` (one request, params from ``args`` + ``build``)
    or ``run(connection, client, args) -> response`` (several requests) does the work;
    ``records(response, args)`` yields the lines to print (a sequence is tab-joined)."""
    name: str
    service: str
    help: str
    operation: str | None = None
    args: Sequence[Arg] = ()
    build: Callable[[argparse.Namespace], dict[str, Any]] | None = None
    run: Run | None = None
    records: Records | None = None
    json_output: bool = False
    epilog: str | None = None

    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=self.name, description=self.help, epilog=self.epilog)
        for argument in self.args:
            argument.add_to(parser)
        if self.json_output:
            parser.add_argument("--json", action="store_true",
                                help="print the whole response as JSON")
        add_connection_arguments(parser)
        return parser

    def params(self, args: argparse.Namespace) -> dict[str, Any]:
        """The request members named by the declared arguments, plus ``build``'s; raises
        :class:`CommandError` for a value ``convert`` refuses."""
        params: dict[str, Any] = {}
        for argument in self.args:
            if argument.param is None:
                continue
            value = getattr(args, argument.dest, None)
            if value is not None and value != []:
                params[argument.param] = (argument.convert(value) if argument.convert
                                          else value)
        if self.build:
            params.update(self.build(args))
        return params

    def execute(self, connection: Connection, client: Any,
                args: argparse.Namespace) -> Response:
        if self.run is not None:
            return self.run(connection, client, args)
        return call(client, self.operation, **self.params(args))

    def __call__(self, argv: Sequence[str] | None = None) -> int:
        args = self.parser().parse_args(argv)
        wire_log = enable_wire_log() if args.debug else None
        try:
            client, connection = connect(self.service, args)
            response = self.execute(connection, client, args)
            if getattr(args, "json", False):
                print(json.dumps(without_metadata(response), indent=2, default=_json_default))
            elif self.records is not None:
                for record in self.records(response, args):
                    print(record if isinstance(record, str) else tabify(record))
        except Exception as exc:  # every failure becomes one line and status 1
            if args.debug:
                traceback.print_exc()
            print(f"{self.name}: {describe_error(exc)}", file=sys.stderr)
            return 1
        finally:
            if wire_log is not None:
                logging.getLogger("botocore").removeHandler(wire_log)
        return 0


def enable_wire_log() -> logging.Handler:
    """Send botocore's debug log (requests and responses as sent) to stderr; returns the
    handler so the caller can remove it."""
    logger = logging.getLogger("botocore")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s [%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


def call(client: Any, operation: str, **params: Any) -> Response:
    """Call ``operation`` (CamelCase), following every page when botocore can paginate it."""
    method = botocore.xform_name(operation)
    if client.can_paginate(method):
        return client.get_paginator(method).paginate(**params).build_full_result()
    return getattr(client, method)(**params)


def tabify(fields: Sequence[Any]) -> str:
    """Fields joined by tabs; ``None`` prints as an empty field."""
    return "\t".join("" if value is None else str(value) for value in fields)


def without_metadata(response: Response) -> Response:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def describe_error(exc: BaseException) -> str:
    """The text after ``<prog>: `` on the error line."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "Unknown"
        message = error.get("Message") or str(exc)
        return f"error ({code}): {message}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"error: {text}"


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
