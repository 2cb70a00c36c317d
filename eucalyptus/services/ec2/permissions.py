"""Sharing a resource with other accounts or with everyone, as images (``launchPermission``)
and snapshots (``createVolumePermission``) do.

A resource row has ``id``, ``account_id`` (its owner) and ``is_public`` (the group ``all``);
the accounts it is shared with are rows of a permission table whose primary key is
(``<column>``, ``account_id``), ``<column>`` naming the resource. A change names entries
``{"UserId": "<12 digits>"}`` or ``{"Group": "all"}``; every entry is checked before any is
applied. Adding a permission that is there already (or one for the owner), or removing one
that is not, changes nothing and is not an error, as in EC2.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, select

from eucalyptus.db.schema import Account
from eucalyptus.errors import ClientError, InvalidParameterValue, MissingParameter


def permission_changes(structure: dict | None, operation_type: str | None,
                       user_ids: list[str] | None, groups: list[str] | None
                       ) -> tuple[list[dict], list[dict]]:
    """(adds, removes) as lists of ``{"UserId": ..}`` / ``{"Group": ..}``, from either the
    structure (``{"Add": [...], "Remove": [...]}``) or OperationType (``add``/``remove``,
    else MissingParameter) with user ids and group names."""
    adds = list((structure or {}).get("Add") or [])
    removes = list((structure or {}).get("Remove") or [])
    flat = [{"UserId": u} for u in user_ids or []] + [{"Group": g} for g in groups or []]
    if flat:
        if operation_type == "add":
            adds += flat
        elif operation_type == "remove":
            removes += flat
        else:
            raise MissingParameter("The request must contain the parameter OperationType "
                                   "(add or remove)")
    return adds, removes


def checked_entry(session, entry: dict) -> tuple[str, str]:
    """``("group", "all")`` or ``("user", account id)``; InvalidParameterValue for a group
    other than ``all``, InvalidUserID.Malformed for a user id that is not 12 digits or names
    no account."""
    if entry.get("Group") is not None:
        if entry["Group"] != "all":
            raise InvalidParameterValue(f"Value ({entry['Group']}) for parameter Group is "
                                        "invalid. Only 'all' is supported.")
        return "group", "all"
    user = str(entry.get("UserId") or "")
    if not re.fullmatch(r"\d{12}", user):
        raise ClientError("InvalidUserID.Malformed", f"User ID '{user}' is invalid")
    if session.get(Account, user) is None:
        raise ClientError("InvalidUserID.Malformed", f"User ID '{user}' does not exist")
    return "user", user


def apply_changes(session, row, table, column: str, adds: list[dict],
                  removes: list[dict]) -> None:
    """Check every entry of ``adds`` and ``removes`` (``checked_entry``), then apply the adds
    and after them the removes to ``row``'s ``is_public`` and its rows of ``table``."""
    added = [checked_entry(session, e) for e in adds]
    removed = [checked_entry(session, e) for e in removes]
    for kind, who in added:
        if kind == "group":
            row.is_public = True
        elif who != row.account_id and session.get(table, (row.id, who)) is None:
            session.add(table(**{column: row.id, "account_id": who}))
            session.flush()
    for kind, who in removed:
        if kind == "group":
            row.is_public = False
        else:
            session.execute(delete(table).where(getattr(table, column) == row.id,
                                                table.account_id == who))
    session.flush()


def permissions_of(session, row, table, column: str) -> list[dict]:
    """``{"Group": "all"}`` when public, then ``{"UserId": ..}`` for each account shared
    with, in account id order."""
    shared = session.scalars(select(table.account_id).where(
        getattr(table, column) == row.id).order_by(table.account_id))
    return ([{"Group": "all"}] if row.is_public else []) + [{"UserId": a} for a in shared]


def make_private(session, row, table, column: str) -> None:
    """Back to the owner alone: not public, shared with no account."""
    row.is_public = False
    session.execute(delete(table).where(getattr(table, column) == row.id))
    session.flush()
