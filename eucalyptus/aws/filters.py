"""The one filter engine of every Describe* operation.

A service describes how each filter of a resource reads its value(s) from one result item (a
dict already in the operation's output shape) in a *filter table*::

    ZONE_FILTERS = {
        "zone-name": "ZoneName",                       # a dotted path into the item
        "memory-info.size-in-mib": "MemoryInfo.SizeInMiB",
        "instance-storage-info.disk.type": "InstanceStorageInfo.Disks.Type",  # lists fan out
        "owner": lambda item: item["OwnerId"],         # a callable: item -> value(s)
        **TAG_FILTERS,                                 # tag:KEY, tag-key, tag-value
    }

A key ending in ``:`` (such as ``"tag:"``) is a prefix filter: a filter named ``tag:Owner``
calls its callable as ``fn(item, "Owner")``.

``apply(items, filters, table)`` keeps the items every filter matches (AND across filters); a
filter matches an item when any of its values matches any value read from the item (OR within
one filter). Values are compared case-sensitively as text (booleans as ``true``/``false``),
and may hold the wildcards ``*`` (any run of characters) and ``?`` (one character); a
backslash makes the next character literal (``\\*``). A filter with an empty value list
matches nothing. An unknown filter name raises ``InvalidParameterValue`` ("The filter 'x' is
invalid"), as EC2 does, before any item is looked at.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable, Iterable, Iterator, Union

from eucalyptus.errors import InvalidParameterValue, MissingParameter

Reader = Union[str, Callable[..., Any]]
FilterTable = dict[str, Reader]


def _tags(item: dict) -> list[dict]:
    return item.get("Tags") or []


TAG_FILTERS: FilterTable = {
    "tag-key": lambda item: [t.get("Key") for t in _tags(item)],
    "tag-value": lambda item: [t.get("Value") for t in _tags(item)],
    "tag:": lambda item, key: [t.get("Value") for t in _tags(item) if t.get("Key") == key],
}


def apply(items: list[dict], filters: list[dict] | None, table: FilterTable) -> list[dict]:
    """The items of ``items`` (order kept) that match every filter in ``filters``."""
    compiled = compile_filters(filters, table)
    if not compiled:
        return list(items)
    return [item for item in items if all(match(item) for match in compiled)]


def validate(filters: list[dict] | None, table: FilterTable) -> None:
    """Raise the error ``apply`` would raise for ``filters``, without any items."""
    compile_filters(filters, table)


def compile_filters(filters: list[dict] | None, table: FilterTable) -> list[Callable[[dict], bool]]:
    """One predicate per filter; raises InvalidParameterValue for an unknown filter name."""
    predicates = []
    for f in filters or []:
        if not isinstance(f, dict) or not f.get("Name"):
            raise MissingParameter("The request must contain the parameter Filter.Name")
        name = f["Name"]
        reader = _reader_for(name, table)
        values = f.get("Values") or []
        if isinstance(values, str):
            values = [values]
        patterns = [_pattern(str(v)) for v in values]
        predicates.append(_predicate(reader, patterns))
    return predicates


def values_of(item: dict, reader: Reader, *args: str) -> list[str]:
    """The values ``reader`` reads from ``item``, as the text filter values are compared to."""
    raw = reader(item, *args) if callable(reader) else list(_walk(item, reader.split(".")))
    return [_text(v) for v in _flatten(raw) if v is not None]


def _reader_for(name: str, table: FilterTable) -> Callable[[dict], list[str]]:
    reader = table.get(name)
    if reader is not None and not name.endswith(":"):
        return lambda item: values_of(item, reader)
    prefix, sep, suffix = name.partition(":")
    if sep and suffix:
        prefixed = table.get(prefix + ":")
        if prefixed is not None:
            return lambda item: values_of(item, prefixed, suffix)
    raise InvalidParameterValue(f"The filter '{name}' is invalid")


def _predicate(reader: Callable[[dict], list[str]], patterns: list[re.Pattern]) -> Callable[[dict], bool]:
    def matches(item: dict) -> bool:
        found = reader(item)
        return any(p.fullmatch(v) for p in patterns for v in found)
    return matches


def _walk(value: Any, parts: list[str]) -> Iterator[Any]:
    """Follow a dotted path; a list on the way fans out to each of its elements."""
    if isinstance(value, (list, tuple)):
        for element in value:
            yield from _walk(element, parts)
        return
    if not parts:
        yield value
        return
    if isinstance(value, dict) and parts[0] in value:
        yield from _walk(value[parts[0]], parts[1:])


def _flatten(raw: Any) -> Iterable[Any]:
    if isinstance(raw, (list, tuple, set)):
        for v in raw:
            yield from _flatten(v)
    else:
        yield raw


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@functools.lru_cache(maxsize=1024)
def _pattern(value: str) -> re.Pattern:
    """A filter value as an anchored regular expression: ``*``, ``?`` wild; ``\\`` escapes."""
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)
