"""Decoding flattened form parameters (``Filter.1.Value.2=x``) by a botocore shape.

The query and ec2 protocols spell nested input as dotted keys. The keys are first gathered
into a tree (:class:`FormNode`), then the input shape is walked against the tree, so indexes
may be sparse or out of order and unknown keys are easy to find. The two protocols differ only
in naming, which :class:`FormReader` takes as a flag:

* query: a member is named by its ``locationName`` or its own name; lists are
  ``Name.member.N`` (``Name.N`` when flattened), maps ``Name.entry.N.key`` / ``.value``; an
  empty list arrives as ``Name=``.
* ec2: a member is named by ``queryName``, else its ``locationName`` with a capital first
  letter, else its own name; lists are always ``Name.N``.
"""
from __future__ import annotations

from typing import Any

from eucalyptus.aws.protocol import scalars
from eucalyptus.aws.protocol.validation import bad_value_error

AUTH_PARAMETERS = frozenset({
    "action", "version", "awsaccesskeyid", "signature", "signaturemethod", "signatureversion",
    "timestamp", "expires", "securitytoken",
})


def is_auth_parameter(name: str) -> bool:
    lowered = name.lower()
    return lowered in AUTH_PARAMETERS or lowered.startswith("x-amz-")


class FormNode:
    """One segment of the dotted keys: the value set at this key (if any) and the children."""
    __slots__ = ("value", "children", "_folded")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, FormNode] = {}
        self._folded: dict[str, str] | None = None

    def child(self, name: str) -> "FormNode | None":
        """The child called ``name``; matched exactly, else without regard to case."""
        found = self.children.get(name)
        if found is not None:
            return found
        if self._folded is None:
            self._folded = {key.lower(): key for key in self.children}
        key = self._folded.get(name.lower())
        return self.children[key] if key is not None else None

    def indexed(self) -> list["FormNode"]:
        """Children whose names are positive integers, in numeric order."""
        numbered = [(int(k), node) for k, node in self.children.items() if k.isdigit()]
        return [node for _, node in sorted(numbered, key=lambda pair: pair[0])]


def build_tree(pairs: list[tuple[str, str]]) -> FormNode:
    """Gather ``key=value`` pairs into a tree split on dots; a repeated key keeps its last value."""
    root = FormNode()
    for key, value in pairs:
        node = root
        for part in key.split("."):
            nxt = node.children.get(part)
            if nxt is None:
                nxt = node.children[part] = FormNode()
            node = nxt
        node.value = value
    return root


class FormReader:
    """Reads decoded input for a shape out of a :class:`FormNode` tree."""

    def __init__(self, protocol: str):
        self.protocol = protocol
        self.ec2 = protocol == "ec2"

    # ------------------------------------------------------------ naming
    def member_key(self, member_name: str, member_shape) -> str:
        serialization = member_shape.serialization
        if self.ec2:
            if "queryName" in serialization:
                return serialization["queryName"]
            if "name" in serialization:
                name = serialization["name"]
                return name[:1].upper() + name[1:]
            return member_name
        if member_shape.type_name == "list" and serialization.get("flattened"):
            inner = member_shape.member.serialization.get("name")
            if inner:
                return inner
        return serialization.get("name", member_name)

    # ------------------------------------------------------------ reading
    def read_input(self, shape, root: FormNode) -> tuple[dict, set[str]]:
        """The decoded input and the set of top-level keys it consumed."""
        params: dict[str, Any] = {}
        used: set[str] = set()
        if shape is None:
            return params, used
        for member_name, member_shape in shape.members.items():
            key = self.member_key(member_name, member_shape)
            node = root.child(key)
            if node is None:
                continue
            used.add(key.lower())
            params[member_name] = self.read(member_shape, node, key)
        return params, used

    def read(self, shape, node: FormNode, path: str) -> Any:
        type_name = shape.type_name
        if type_name == "structure":
            return self._read_structure(shape, node, path)
        if type_name == "list":
            return self._read_list(shape, node, path)
        if type_name == "map":
            return self._read_map(shape, node, path)
        if node.value is None:
            raise bad_value_error(self.protocol, path, "", type_name)
        try:
            return scalars.from_text(shape, node.value)
        except scalars.BadValue as exc:
            raise bad_value_error(self.protocol, path, exc.value, type_name) from None

    def _read_structure(self, shape, node: FormNode, path: str) -> dict:
        if node.value and not node.children:
            raise bad_value_error(self.protocol, path, node.value, "structure")
        result: dict[str, Any] = {}
        for member_name, member_shape in shape.members.items():
            key = self.member_key(member_name, member_shape)
            child = node.child(key)
            if child is not None:
                result[member_name] = self.read(member_shape, child, f"{path}.{key}")
        return result

    def _read_list(self, shape, node: FormNode, path: str) -> list:
        if not node.children:
            if node.value in (None, ""):
                return []
            # A lone value for a list of scalars: "InstanceId=i-1" means ["i-1"].
            return [self.read(shape.member, node, path)]
        holder = node
        if not self.ec2 and not shape.serialization.get("flattened"):
            holder = node.child(shape.member.serialization.get("name", "member")) or node
        return [self.read(shape.member, item, f"{path}.{index}")
                for index, item in enumerate(holder.indexed(), 1)]

    def _read_map(self, shape, node: FormNode, path: str) -> dict:
        holder = node if shape.serialization.get("flattened") else (node.child("entry") or node)
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        result: dict[Any, Any] = {}
        for index, entry in enumerate(holder.indexed(), 1):
            key_node = entry.child(key_name)
            if key_node is None:
                raise bad_value_error(self.protocol, f"{path}.{index}.{key_name}", "", "map key")
            key = self.read(shape.key, key_node, f"{path}.{index}.{key_name}")
            value_node = entry.child(value_name)
            result[key] = (self.read(shape.value, value_node, f"{path}.{index}.{value_name}")
                           if value_node is not None else None)
        return result


def unknown_parameters(root: FormNode, used: set[str]) -> list[str]:
    """Top-level keys that are neither input members nor authentication parameters."""
    return [key for key in root.children
            if key.lower() not in used and not is_auth_parameter(key)]


def action_of(pairs: list[tuple[str, str]]) -> str | None:
    for key, value in pairs:
        if key == "Action":
            return value
    return None

