"""The targets of the S3 benchmark, judged from the figures and the ceilings of the same run.

* small-object ops/s at concurrency 16 (PUT and GET): at least 3x the peer's
* GET of the large object: at least half the loopback TCP ceiling
* PUT of the large object: at least 80% of the single-core MD5 rate
* a full LIST of the 10,000 keys (``list_keys``): under 0.3 s; a listing of fewer keys (a fill
  that ran out of time) is not judged

``judge(ours, peer, ceilings)`` takes ours and the peer's figures keyed by operation and
returns, for each operation that has a target, a ``Verdict``: the target in words, the
threshold in the figure's unit, whether ours met it, and ours as a fraction of the threshold
(for a duration: threshold / ours), so 0.62 reads "62% of the way there".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.s3.ceilings import Ceiling
from bench.s3.figures import Figure

SMALL_FACTOR = 3.0
GET_OF_LOOPBACK = 0.5
PUT_OF_MD5 = 0.8
LIST_LIMIT_S = 0.3


@dataclass
class Verdict:
    operation: str
    target: str
    threshold: float | None
    met: bool | None            # None: could not be judged (a figure is missing)
    fraction: float | None      # ours / threshold (threshold / ours for durations)
    note: str = ""

    @property
    def label(self) -> str:
        if self.met is None:
            return f"n/a ({self.note})" if self.note else "n/a"
        word = "pass" if self.met else "MISS"
        if self.fraction is not None:
            return f"{word} ({self.fraction:.2f}x)"
        return f"{word} ({self.note})" if self.note else word

    def as_dict(self) -> dict:
        return asdict(self)


def _rule(operation: str, peer: Figure | None, ceilings: dict[str, Ceiling],
          list_keys: int) -> tuple[str, float | None, bool] | None:
    """(target text, threshold, lower-is-better) of an operation, None if it has none."""
    if operation.endswith("c=16") and operation.split()[0] in ("PUT", "GET") \
            and "KiB" in operation:
        if peer is None or not peer.value or peer.errors == peer.count:
            return f">= {SMALL_FACTOR:g}x peer", None, False
        return f">= {SMALL_FACTOR:g}x peer", SMALL_FACTOR * peer.value, False
    if operation.startswith("GET") and "MiB" in operation and "loopback" in ceilings:
        return (f">= {GET_OF_LOOPBACK:g}x loopback",
                GET_OF_LOOPBACK * ceilings["loopback"].mb_s, False)
    if operation.startswith("PUT") and "MiB" in operation and "md5" in ceilings:
        return f">= {PUT_OF_MD5:g}x MD5 rate", PUT_OF_MD5 * ceilings["md5"].mb_s, False
    if operation == f"LIST {list_keys:,} keys":
        return f"< {LIST_LIMIT_S:g} s", LIST_LIMIT_S, True
    return None


def judge(ours: dict[str, Figure], peer: dict[str, Figure], ceilings: dict[str, Ceiling],
          list_keys: int = 10000) -> dict[str, Verdict]:
    verdicts = {}
    for operation in list(ours) + [op for op in peer if op not in ours]:
        rule = _rule(operation, peer.get(operation), ceilings, list_keys)
        if rule is None:
            continue
        text, threshold, lower_better = rule
        mine = ours.get(operation)
        if threshold is None:
            verdicts[operation] = Verdict(operation, text, None, None, None, "no peer figure")
        elif mine is not None and mine.errors:
            verdicts[operation] = Verdict(operation, text, threshold, False, None,
                                          f"{mine.errors} errors")
        elif mine is None or not mine.value:
            verdicts[operation] = Verdict(operation, text, threshold, None, None,
                                          "no figure of ours")
        elif lower_better:
            verdicts[operation] = Verdict(operation, text, threshold, mine.value < threshold,
                                          threshold / mine.value)
        else:
            verdicts[operation] = Verdict(operation, text, threshold, mine.value >= threshold,
                                          mine.value / threshold)
    return verdicts
