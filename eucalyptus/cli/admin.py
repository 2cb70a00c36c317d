"""The ``eucalyptus`` admin command.

    eucalyptus init   --data-dir DIR [--port-base N]      make DIR ready (keys, db, admin)
    eucalyptus up     --data-dir DIR [--port-base N]      cloud-in-a-box in the foreground
    eucalyptus serve  clc|walrus|sc|cc|nc --data-dir DIR  run one component
    eucalyptus status --data-dir DIR                      health table (exit 1 if any is down)
    eucalyptus properties [NAME[=VALUE] ...]              read/set cloud properties (euctl)
    eucalyptus credentials --account A --user U [-o F]    a user's credentials zip
    eucalyptus register-node|deregister-node HOST[:PORT] ...   nodes of the cluster
    eucalyptus enable-node|disable-node HOST[:PORT] ...   whether a node takes instances
    eucalyptus describe-nodes                             what the cluster sees
    eucalyptus register-cluster --zone Z --cc URL --sc URL   another availability zone
    eucalyptus deregister-cluster Z | describe-clusters   the zones the cloud knows

``--data-dir`` defaults to ./data. Configuration problems and errors from the cloud print one
line ``eucalyptus: error: ...`` and exit 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eucalyptus.cli import admin_clusters, admin_image, admin_nodes
from eucalyptus.config import (COMPONENTS, ConfigError, is_initialised, load_settings,
                               ports_from_base)
from eucalyptus.errors import ServiceError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eucalyptus", description="Eucalyptus cloud admin")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data-dir", type=Path, default=Path("data"),
                       help="data directory (default: ./data)")
        return p

    for name, text in (("init", "initialise a data directory"),
                       ("up", "run the whole cloud on this machine (cloud-in-a-box)")):
        command(name, text).add_argument(
            "--port-base", type=int, help="clc N, cc N+1, nc N+2, sc N+3, walrus N+4 "
                                          "(written to DIR/eucalyptus.conf)")
    command("serve", "run one component").add_argument("component", choices=COMPONENTS)
    command("status", "show every component's health")
    p = command("properties", "read or set cloud properties")
    p.add_argument("items", nargs="*", metavar="NAME[=VALUE]")
    p.add_argument("--describe", action="store_true", help="show type, default, meaning")
    p = command("credentials", "write a user's credentials zip")
    p.add_argument("--account", "-a", required=True)
    p.add_argument("--user", "-u", required=True)
    p.add_argument("-o", "--output", type=Path, help="zip file (default: ACCOUNT-USER.zip)")
    admin_nodes.add_parser(sub)
    admin_clusters.add_parser(sub)
    admin_image.add_parser(sub)
    return parser


def _settings(args: argparse.Namespace):
    if not is_initialised(args.data_dir):
        raise ConfigError(f"{args.data_dir.resolve()} is not initialised: run "
                          f"`eucalyptus init --data-dir {args.data_dir}` or `eucalyptus up`")
    return load_settings(args.data_dir)


def _run(args: argparse.Namespace) -> int:
    cmd = args.command
    if getattr(args, "handler", None):
        return args.handler(args)
    if cmd in ("init", "up"):
        from eucalyptus.cli import admin_init
        overrides = ports_from_base(args.port_base) if args.port_base is not None else {}
        if cmd == "init" or not is_initialised(args.data_dir):
            settings = admin_init.init(args.data_dir, overrides, out=sys.stdout)
        else:
            if overrides:
                admin_init.write_conf(args.data_dir.resolve(), overrides)
            settings = load_settings(args.data_dir)
        if cmd == "init":
            return 0
        import asyncio
        from eucalyptus.cli.admin_up import Supervisor
        return asyncio.run(Supervisor(settings).run())
    settings = _settings(args)
    if cmd == "serve":
        from eucalyptus.cli.admin_serve import serve_component
        return serve_component(settings, args.component)
    if cmd == "status":
        from eucalyptus.cli.admin_status import status
        return status(settings)
    if cmd == "properties":
        from eucalyptus.cli.admin_properties import properties
        return properties(settings, args.items, describe=args.describe)
    if cmd == "credentials":
        from eucalyptus.cli.admin_properties import user_credentials
        return user_credentials(settings, args.account, args.user, args.output)
    raise ConfigError(f"unknown command {cmd}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"eucalyptus: error: {exc}", file=sys.stderr)
    except ServiceError as exc:
        print(f"eucalyptus: error ({exc.code}): {exc.message}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
