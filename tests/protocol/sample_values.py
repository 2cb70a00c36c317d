"""Deterministic sample values for any botocore shape, for protocol round trips.

``sample_input(operation)`` and ``sample_output(operation)`` fill every member of the shape
(only the first member of a tagged union), two items per list near the top and one deeper, so
each member type (nested structures, lists, maps, blobs, timestamps, booleans, enums) is
exercised. Values are chosen to travel through their location: URI labels carry slashes and
spaces, headers stay ASCII, query strings and bodies carry markup characters and non-ASCII.
Recursive shapes stop at their second appearance on the path.
"""
from __future__ import annotations

import datetime as dt
import zlib

WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
STREAM_BYTES = "streamed payload \u00fc\n".encode()


def _flag(name: str) -> bool:
    return zlib.crc32(name.encode()) % 2 == 0


class SampleBuilder:
    def __init__(self, direction: str, required_only: bool = False):
        self.direction = direction  # "input" or "output"
        self.required_only = required_only  # top-level members: only the required ones

    def top(self, shape) -> dict:
        if shape is None:
            return {}
        result = {}
        payload = shape.serialization.get("payload")
        for name, member in self._members(shape):
            if self.required_only and name not in shape.required_members:
                continue
            serialization = member.serialization
            location = serialization.get("location")
            if serialization.get("eventstream"):
                continue
            if location == "statusCode":
                result[name] = 200
            elif location == "uri":
                result[name] = self._label(member, name, serialization.get("name", name))
            elif location == "header":
                value = self._header(member, name)
                if value is not None:
                    result[name] = value
            elif location == "headers":
                result[name] = {"color": f"{name.lower()}-blue", "size": "10"}
            elif location == "querystring":
                result[name] = self._query(member, name)
            elif serialization.get("hostLabel"):
                result[name] = "route-1"
            elif name == payload and member.type_name in ("blob", "string"):
                result[name] = STREAM_BYTES if member.type_name == "blob" else "text body \u00fc"
            else:
                value = self.value(member, name, 0, (shape.name,))
                if value is not None:
                    result[name] = value
        return result

    @staticmethod
    def _members(shape):
        items = list(shape.members.items())
        if shape.is_tagged_union:
            return items[:1]
        return items

    def _label(self, shape, name: str, wire: str):
        if shape.type_name != "string":
            return self.value(shape, name, 0, ())
        if wire.endswith("+") or name == "Key":
            return "dir/sub dir/obj+name~ü.txt"
        return f"{name.lower()}-1"

    def _header(self, shape, name: str):
        type_name = shape.type_name
        if type_name == "list":
            if shape.member.type_name == "string":
                return ["first", "second, with comma"]
            if shape.member.type_name == "timestamp":
                return None  # a list of RFC 822 dates cannot be split on commas
            return [self.value(shape.member, name, 5, ())]
        if type_name == "string":
            if shape.serialization.get("jsonvalue"):
                return {"k": [1, "v"], "flag": True}
            enum = shape.metadata.get("enum")
            if enum:
                return enum[len(name) % len(enum)]
            return f"{name}-value"
        return self.value(shape, name, 5, ())

    def _query(self, shape, name: str):
        if shape.type_name == "map":
            if shape.value.type_name == "list":
                return {"extra-param": ["one", "two"]}
            return {"extra-param": "one two"}
        if shape.type_name == "list":
            return [self._query(shape.member, name + "1"), self._query(shape.member, name + "2")]
        if shape.type_name == "string":
            enum = shape.metadata.get("enum")
            return enum[len(name) % len(enum)] if enum else f"q {name} &=ü"
        return self.value(shape, name, 5, ())

    def value(self, shape, name: str, depth: int, stack: tuple):
        type_name = shape.type_name
        if type_name == "structure":
            if shape.is_document_type:
                return {"doc": [1, "two"]}
            if stack.count(shape.name) >= 2 or depth > 12:
                return None
            inner = stack + (shape.name,)
            result = {}
            for member_name, member in self._members(shape):
                if member.serialization.get("eventstream"):
                    continue
                value = self.value(member, member_name, depth + 1, inner)
                if value is not None:
                    result[member_name] = value
            return result
        if type_name == "list":
            count = 2 if depth < 3 else 1
            items = [self.value(shape.member, f"{name}{i}", depth + 1, stack)
                     for i in range(count)]
            items = [item for item in items if item is not None]
            return items or None
        if type_name == "map":
            result = {}
            for i in range(2 if depth < 3 else 1):
                key = self.value(shape.key, f"{name}-key{i}", depth + 1, stack)
                val = self.value(shape.value, f"{name}-val{i}", depth + 1, stack)
                if key is not None and val is not None:
                    result[key] = val
            return result or None
        if type_name == "string":
            enum = shape.metadata.get("enum")
            if enum:
                return enum[len(name) % len(enum)]
            return f"{name} <&> \u00fc"
        if type_name in ("integer", "long", "short", "byte"):
            return 7 + len(name) % 5
        if type_name in ("float", "double"):
            return 2.5
        if type_name == "boolean":
            return _flag(name)
        if type_name == "timestamp":
            return WHEN
        if type_name == "blob":
            return b"\x00bin\xff" + name.encode()
        raise AssertionError(f"no sample for {type_name}")


def sample_input(operation) -> dict:
    return SampleBuilder("input").top(operation.input_shape)


def minimal_input(operation) -> dict:
    """Only the required top-level members (what a terse client such as s3cmd sends)."""
    return SampleBuilder("input", required_only=True).top(operation.input_shape)


def sample_output(operation) -> dict:
    return SampleBuilder("output").top(operation.output_shape)
