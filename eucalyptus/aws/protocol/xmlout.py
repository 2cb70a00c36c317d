"""Writing a value of a botocore shape as XML, the way botocore's XML parsers read it back.

Element names: a member is written under its ``locationName`` or its own name; a flattened list
repeats its elements under the list member's ``locationName`` (else the member's name);
other lists wrap items in ``<member>`` (``<item>`` for ec2) unless the list's member has a
``locationName``; maps are ``<entry><key/><value/></entry>``. ``xmlAttribute`` members become
attributes and ``xmlNamespace`` becomes an ``xmlns`` declaration. Members whose value is None,
or that the shape does not know, are left out. A member marked with our overlay trait
``xmlText`` is written as the text of its parent element.
"""
from __future__ import annotations

import re
from typing import Any

from eucalyptus.aws.protocol import scalars

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                               "\r": "&#xD;", "\n": "&#xA;", "\t": "&#x9;"})
# characters XML 1.0 cannot carry at all
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    return _INVALID.sub("\ufffd", text).translate(_ESCAPES)


def quote_attr(text: str) -> str:
    return '"' + _INVALID.sub("\ufffd", text).translate(_ATTR_ESCAPES) + '"'


def element(name: str, text: str = "", attrs: str = "") -> str:
    return f"<{name}{attrs}>{escape(text)}</{name}>"


def namespace_attr(shape) -> str:
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, dict):
        prefix = namespace.get("prefix")
        name = f"xmlns:{prefix}" if prefix else "xmlns"
        return f" {name}={quote_attr(namespace['uri'])}"
    if isinstance(namespace, str):
        return f" xmlns={quote_attr(namespace)}"
    return ""


def member_element_name(member_name: str, member_shape) -> str:
    """The element a structure member is written under (botocore's ``_member_key_name``)."""
    serialization = member_shape.serialization
    if member_shape.type_name == "list" and serialization.get("flattened"):
        inner = member_shape.member.serialization.get("name")
        if inner:
            return inner
    return serialization.get("name", member_name)


def _raw_member_ref(shape, member_name: str) -> dict:
    return shape._shape_model.get("members", {}).get(member_name, {})


class XmlWriter:
    """Writes shapes as XML text; ``list_item`` is the default element name of list items."""

    def __init__(self, list_item: str = "member"):
        self.list_item = list_item

    def members(self, shape, value: dict, out: list[str]) -> str:
        """Append the children of structure ``value`` to ``out``; return its attribute text."""
        attrs = []
        for member_name, member_shape in shape.members.items():
            member_value = value.get(member_name)
            if member_value is None:
                continue
            serialization = member_shape.serialization
            if serialization.get("location"):
                continue  # headers, status code, URI: not part of the document
            if serialization.get("xmlAttribute"):
                attrs.append(f" {serialization.get('name', member_name)}="
                             f"{quote_attr(scalars.to_text(member_shape, member_value))}")
                continue
            if _raw_member_ref(shape, member_name).get("xmlText"):
                out.append(escape(scalars.to_text(member_shape, member_value)))
                continue
            self.write(member_shape, member_value, member_element_name(member_name, member_shape),
                       out)
        return "".join(attrs)

    def write(self, shape, value: Any, name: str, out: list[str]) -> None:
        """Append ``value`` of ``shape`` as element(s) called ``name``."""
        type_name = shape.type_name
        if type_name == "structure":
            children: list[str] = []
            attrs = self.members(shape, value, children) + namespace_attr(shape)
            out.append(f"<{name}{attrs}>")
            out.extend(children)
            out.append(f"</{name}>")
        elif type_name == "list":
            self._write_list(shape, value, name, out)
        elif type_name == "map":
            self._write_map(shape, value, name, out)
        else:
            out.append(element(name, scalars.to_text(shape, value), namespace_attr(shape)))

    def _write_list(self, shape, value: list, name: str, out: list[str]) -> None:
        member = shape.member
        if shape.serialization.get("flattened"):
            for item in value:
                if item is not None:
                    self.write(member, item, name, out)
            return
        item_name = member.serialization.get("name", self.list_item)
        out.append(f"<{name}{namespace_attr(shape)}>")
        for item in value:
            if item is not None:
                self.write(member, item, item_name, out)
        out.append(f"</{name}>")

    def _write_map(self, shape, value: dict, name: str, out: list[str]) -> None:
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        flattened = shape.serialization.get("flattened")
        if not flattened:
            out.append(f"<{name}>")
        for key, item in value.items():
            out.append(f"<{name}>" if flattened else "<entry>")
            self.write(shape.key, key, key_name, out)
            if item is not None:
                self.write(shape.value, item, value_name, out)
            out.append(f"</{name}>" if flattened else "</entry>")
        if not flattened:
            out.append(f"</{name}>")

    def document(self, shape, value: dict, root: str, root_attrs: str = "") -> bytes:
        """A whole document: ``<root attrs>`` holding structure ``value``'s members."""
        out: list[str] = []
        attrs = self.members(shape, value, out) if shape is not None else ""
        head = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}{root_attrs}{attrs}>'
        return (head + "".join(out) + f"</{root}>").encode("utf-8")
