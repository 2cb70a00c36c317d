"""How long a security-group rule change takes to reach the kernel.

    sudo .venv/bin/python -m bench.vnet_rule_change [--rules 100] [--instances 20] [--runs 30]

Makes a throw-away namespace, loads ``--rules`` rules spread over 5 groups and attaches
``--instances`` instances with the real ``NetworkPolicy``, then replaces one group's rules
``--runs`` times and prints the time of each change end to end (validation, state saved with
fsync, the one ``nft -f`` transaction) and of the transaction alone. The namespace is
removed at the end. Needs root, ``ip`` and ``nft``.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time

from eucalyptus.cc.vnet import firewall
from eucalyptus.cc.vnet.policy import NetworkPolicy
from eucalyptus.cc.vnet.policy_messages import GroupSpec, RuleSpec
from eucalyptus.drivers import network

GROUPS = 5


def groups_with(rules: int, variant: int = 0) -> list[GroupSpec]:
    per = max(1, rules // GROUPS)
    return [GroupSpec(f"sg-0000b{g:03x}", "111111111111", f"g{g}",
                      [RuleSpec("tcp", 1000 + variant + r, 1000 + variant + r,
                                [f"10.{g}.{r}.0/24"]) for r in range(per)],
                      [RuleSpec("-1", cidrs=["0.0.0.0/0"])])
            for g in range(GROUPS)]


async def measure(backend, ns: str, state_dir: str, rules: int, instances: int,
                  runs: int) -> tuple[list[float], list[float]]:
    policy = NetworkPolicy(backend, ns, state_dir, private_networks=["10.66.0.0/16"])
    await policy.start()
    specs = groups_with(rules)
    await policy.put_groups(specs)
    for n in range(instances):
        await policy.attached(f"i-0000c{n:03x}", f"10.66.{n // 250}.{n % 250 + 2}",
                              [specs[n % GROUPS].group_id])
    end_to_end, nft_only = [], []
    for run in range(1, runs + 1):
        changed = groups_with(rules, variant=run)[0]
        before = policy._filter
        start = time.perf_counter()
        await policy.put_groups([changed])
        end_to_end.append(time.perf_counter() - start)
        after = policy._filter
        text = firewall.render_changes(after, before)      # back and forth: same size
        start = time.perf_counter()
        backend.apply_rules(ns, text)
        nft_only.append(time.perf_counter() - start)
        backend.apply_rules(ns, firewall.render_changes(before, after))
    listed = backend.list_rules(ns)
    assert listed.count(" accept") >= rules, "rules missing from the kernel"
    await policy.stop()
    return end_to_end, nft_only


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    backend = network.load()
    reason = backend.unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    ns = f"euca-bench-{secrets.token_hex(3)}"
    load_start = os.getloadavg()[0]
    backend.create_namespace(ns)
    try:
        with tempfile.TemporaryDirectory() as state_dir:
            total, nft = asyncio.run(measure(backend, ns, state_dir, args.rules,
                                             args.instances, args.runs))
    finally:
        backend.delete_namespace(ns)
    print(f"rule change with {args.rules} rules and {args.instances} instances, "
          f"{args.runs} runs (cpus {os.cpu_count()}, load {load_start:.2f} -> "
          f"{os.getloadavg()[0]:.2f})")
    print(f"{'':<28}{'median ms':>10}{'p90 ms':>10}{'max ms':>10}")
    for label, values in (("end to end (put_groups)", total), ("nft -f transaction", nft)):
        values = sorted(values)
        p90 = values[int(0.9 * (len(values) - 1))]
        print(f"{label:<28}{statistics.median(values) * 1000:>10.1f}{p90 * 1000:>10.1f}"
              f"{values[-1] * 1000:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
