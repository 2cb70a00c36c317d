"""Reading an XML document into the value of a botocore shape (rest-xml request bodies).

The naming rules mirror :mod:`xmlout`; namespaces are ignored, element order does not matter.
Raises :class:`MalformedXML` for text that is not XML, and scalars.BadValue for text that does
not convert to its shape's type.
"""
from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

from eucalyptus.aws.protocol import scalars
from eucalyptus.aws.protocol.xmlout import member_element_name

_NAMESPACE = re.compile(r"^\{[^}]*\}")


class MalformedXML(ValueError):
    pass


def local_name(tag: str) -> str:
    return _NAMESPACE.sub("", tag)


def parse_document(body: bytes) -> ElementTree.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedXML("document type declarations are not accepted")
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise MalformedXML(str(exc)) from None


def _children_by_name(node: ElementTree.Element) -> dict[str, list[ElementTree.Element]]:
    grouped: dict[str, list[ElementTree.Element]] = {}
    for child in node:
        grouped.setdefault(local_name(child.tag), []).append(child)
    return grouped


def read(shape, node: ElementTree.Element) -> Any:
    """The value of ``shape`` held by element ``node``."""
    type_name = shape.type_name
    if type_name == "structure":
        return read_structure(shape, node)
    if type_name == "list":
        return [read(shape.member, child) for child in node]
    if type_name == "map":
        return _read_map_entries(shape, list(node))
    return scalars.from_text(shape, node.text or "")


def read_structure(shape, node: ElementTree.Element) -> dict:
    result: dict[str, Any] = {}
    children = _children_by_name(node)
    for member_name, member_shape in shape.members.items():
        serialization = member_shape.serialization
        if serialization.get("location"):
            continue
        if serialization.get("xmlAttribute"):
            wanted = serialization.get("name", member_name).split(":")[-1]
            for attr, value in node.attrib.items():
                if local_name(attr) == wanted:
                    result[member_name] = scalars.from_text(member_shape, value)
            continue
        found = children.get(member_element_name(member_name, member_shape))
        if not found:
            continue
        if member_shape.type_name == "list" and serialization.get("flattened"):
            result[member_name] = [read(member_shape.member, child) for child in found]
        elif member_shape.type_name == "map" and serialization.get("flattened"):
            result[member_name] = _read_map_entries(member_shape, found)
        else:
            result[member_name] = read(member_shape, found[0])
    return result


def _read_map_entries(shape, entries: list[ElementTree.Element]) -> dict:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    result: dict[Any, Any] = {}
    for entry in entries:
        parts = _children_by_name(entry)
        if key_name not in parts:
            continue
        key = read(shape.key, parts[key_name][0])
        result[key] = read(shape.value, parts[value_name][0]) if value_name in parts else None
    return result
