"""Checks every protocol applies after decoding: required members, and the AWS wording of
validation failures.

query and json services answer ``ValidationError`` / ``ValidationException`` with messages such
as ``1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member
must not be null``; EC2 answers ``MissingParameter`` naming the wire parameter.
"""
from __future__ import annotations

from typing import Any, Callable

from eucalyptus.errors import (InvalidParameterValue, MissingParameter, ServiceError,
                               ValidationError)

# name_of(member_name, member_shape, parent_path) -> path of a structure member
# item_of(index, parent_path) -> path of a list element (index from 1)
Namer = Callable[[str, Any, str], str]
ItemNamer = Callable[[int, str], str]


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def aws_member_path(member_name: str, member_shape, parent: str) -> str:
    """AWS validation paths: ``userName``, ``tags.1.member.key``."""
    name = lower_first(member_name)
    return f"{parent}.{name}" if parent else name


def aws_item_path(index: int, parent: str) -> str:
    return f"{parent}.{index}.member"


_NESTED = frozenset({"structure", "list", "map"})     # shapes that can hold required members


def find_missing(shape, value: Any, name_of: Namer = aws_member_path,
                 item_of: ItemNamer = aws_item_path, path: str = "") -> list[str]:
    """Paths of required members absent anywhere in ``value`` (decoded input of ``shape``)."""
    missing: list[str] = []
    type_name = shape.type_name
    if type_name == "structure" and isinstance(value, dict):
        required = shape.required_members
        for member_name, member_shape in shape.members.items():
            member = value.get(member_name)
            if member is None:
                if member_name in required:
                    missing.append(name_of(member_name, member_shape, path))
                continue
            if member_shape.type_name in _NESTED:
                missing.extend(find_missing(member_shape, member, name_of, item_of,
                                            name_of(member_name, member_shape, path)))
    elif type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value, 1):
            missing.extend(find_missing(shape.member, item, name_of, item_of,
                                        item_of(index, path)))
    elif type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            missing.extend(find_missing(shape.value, item, name_of, item_of, f"{path}.{key}"))
    return missing


def validation_message(failures: list[str]) -> str:
    """``N validation error(s) detected: <failure>; <failure>``."""
    count = len(failures)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(failures)


def null_failure(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def require_members(shape, params: dict, code: str = "ValidationError") -> None:
    """Raise ValidationError (with ``code``) listing every required member that is absent."""
    if shape is None:
        return
    missing = find_missing(shape, params)
    if missing:
        raise ValidationError(code, validation_message([null_failure(p) for p in missing]))


def bad_value_error(protocol: str, path: str, value: Any, type_name: str) -> ServiceError:
    """The error for a value that does not convert, in the style of ``protocol``."""
    shown = value if isinstance(value, str) else repr(value)
    if protocol == "ec2":
        return InvalidParameterValue(f"Value ({shown}) for parameter {path} is invalid. "
                                     f"Expected a valid {type_name}.")
    code = "ValidationException" if protocol in ("json", "rest-json") else "ValidationError"
    failure = (f"Value '{shown}' at '{path}' failed to satisfy constraint: "
               f"Member must be a valid {type_name}")
    return ValidationError(code, validation_message([failure]))


def missing_parameter(name: str) -> MissingParameter:
    return MissingParameter(f"The request must contain the parameter {name}")
