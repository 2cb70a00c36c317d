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


# one pass: invalid characters become U+FFFD, markup characters entities
_TEXT_TABLE = {**_ESCAPES, **{c: "\ufffd" for c in [*range(0x00, 0x09), 0x0b, 0x0c,
                                                    *range(0x0e, 0x20), 0xfffe, 0xffff]}}


_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    if _TEXT_SPECIAL.search(text) is None:     # the common case: nothing to replace
        return text
    return text.translate(_TEXT_TABLE)


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


_SCALAR, _ELEMENT, _ATTRIBUTE, _TEXT = 0, 1, 2, 3


def _namespace(shape) -> str:
    """``namespace_attr(shape)``, computed once per shape object."""
    cached = shape.__dict__.get("_xml_namespace_attr")
    if cached is None:
        cached = shape.__dict__["_xml_namespace_attr"] = namespace_attr(shape)
    return cached


def _plan(shape) -> list[tuple[str, Any, int, str, str]]:
    """How each document member of a structure is written: (member, shape, kind, name,
    namespace attribute of a scalar),
    in model order, members with a ``location`` (headers, URI, status) left out. Computed
    once per shape object (botocore shapes are immutable once loaded)."""
    plan = shape.__dict__.get("_xml_plan")
    if plan is None:
        plan = []
        for member_name, member_shape in shape.members.items():
            serialization = member_shape.serialization
            if serialization.get("location"):
                continue
            if serialization.get("xmlAttribute"):
                plan.append((member_name, member_shape, _ATTRIBUTE,
                             serialization.get("name", member_name), ""))
            elif _raw_member_ref(shape, member_name).get("xmlText"):
                plan.append((member_name, member_shape, _TEXT, "", ""))
            elif member_shape.type_name in ("structure", "list", "map"):
                plan.append((member_name, member_shape, _ELEMENT,
                             member_element_name(member_name, member_shape), ""))
            else:     # a scalar: its start tag (with any namespace) is fixed
                plan.append((member_name, member_shape, _SCALAR,
                             member_element_name(member_name, member_shape),
                             _namespace(member_shape)))
        shape.__dict__["_xml_plan"] = plan
    return plan


class XmlWriter:
    """Writes shapes as XML text; ``list_item`` is the default element name of list items."""

    def __init__(self, list_item: str = "member"):
        self.list_item = list_item

    def members(self, shape, value: dict, out: list[str]) -> str:
        """Append the children of structure ``value`` to ``out``; return its attribute text."""
        attrs = []
        for member_name, member_shape, kind, name, namespace in _plan(shape):
            member_value = value.get(member_name)
            if member_value is None:
                continue
            if kind == _SCALAR:
                out.append(f"<{name}{namespace}>"
                           f"{escape(scalars.to_text(member_shape, member_value))}"
                           f"</{name}>")
            elif kind == _ELEMENT:
                self.write(member_shape, member_value, name, out)
            elif kind == _ATTRIBUTE:
                attrs.append(f" {name}={quote_attr(scalars.to_text(member_shape, member_value))}")
            else:
                out.append(escape(scalars.to_text(member_shape, member_value)))
        return "".join(attrs)

    def write(self, shape, value: Any, name: str, out: list[str]) -> None:
        """Append ``value`` of ``shape`` as element(s) called ``name``."""
        type_name = shape.type_name
        if type_name == "structure":
            children: list[str] = []
            attrs = self.members(shape, value, children) + _namespace(shape)
            out.append(f"<{name}{attrs}>")
            out.extend(children)
            out.append(f"</{name}>")
        elif type_name == "list":
            self._write_list(shape, value, name, out)
        elif type_name == "map":
            self._write_map(shape, value, name, out)
        else:
            out.append(f"<{name}{_namespace(shape)}>{escape(scalars.to_text(shape, value))}"
                       f"</{name}>")

    def _write_list(self, shape, value: list, name: str, out: list[str]) -> None:
        member = shape.member
        if shape.serialization.get("flattened"):
            for item in value:
                if item is not None:
                    self.write(member, item, name, out)
            return
        item_name = member.serialization.get("name", self.list_item)
        out.append(f"<{name}{_namespace(shape)}>")
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
