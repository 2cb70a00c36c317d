"""S3 access control lists: the model, how requests set them, and what they grant.

An ``Acl`` is an owner (canonical id + display name) and a list of ``Grant``s, each giving one
permission (FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP) to a canonical user or to one of
the groups AllUsers, AuthenticatedUsers and LogDelivery. It is stored as JSON text
(``to_json``/``from_json``) and shown in the ``AccessControlPolicy`` shape (``to_output``).

A request sets an ACL in exactly one of three ways (``from_request``): a canned ACL
(``x-amz-acl``), ``x-amz-grant-*`` headers, or an ``AccessControlPolicy`` body; none of them
means the canned ACL ``private``. Mixing them is an error, as in S3. Grantees by e-mail are
not supported (UnresolvableGrantByEmailAddress); an unknown canonical id is InvalidArgument.

``permissions(acl, caller_cid, authenticated)`` is the set of permissions the ACL gives a
caller (``caller_cid`` None for anonymous callers); FULL_CONTROL implies the other four and
the owner always holds READ_ACP and WRITE_ACP.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from botocore import xform_name

from eucalyptus.errors import AccessDenied, ClientError
from eucalyptus.services.s3.canonical import Party

FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP = ("FULL_CONTROL", "READ", "WRITE", "READ_ACP",
                                                  "WRITE_ACP")
PERMISSIONS = (FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)

CANNED = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
          "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write")

# request member -> permission, for the x-amz-grant-* headers
GRANT_MEMBERS = {"GrantFullControl": FULL_CONTROL, "GrantRead": READ, "GrantWrite": WRITE,
                 "GrantReadACP": READ_ACP, "GrantWriteACP": WRITE_ACP}

Resolver = Callable[[str], "Party | None"]   # canonical id -> the account, or None


def malformed_acl() -> ClientError:
    return ClientError("MalformedACLError", "The XML you provided was not well-formed or did "
                       "not validate against our published schema")


def invalid_argument(message: str) -> ClientError:
    return ClientError("InvalidArgument", message)


def unresolvable_email() -> ClientError:
    return ClientError("UnresolvableGrantByEmailAddress", "The e-mail address you provided "
                       "does not match any account on record.")


@dataclass(frozen=True)
class Grant:
    """One permission for one grantee: a canonical user (``canonical_id``) or a ``group``."""
    permission: str
    canonical_id: str = ""
    display_name: str = ""
    group: str = ""

    def output(self) -> dict[str, Any]:
        if self.group:
            grantee = {"Type": "Group", "URI": self.group}
        else:
            grantee = {"Type": "CanonicalUser", "ID": self.canonical_id}
            if self.display_name:
                grantee["DisplayName"] = self.display_name
        return {"Grantee": grantee, "Permission": self.permission}


@dataclass
class Acl:
    owner_id: str                   # canonical id of the owner
    owner_name: str = ""
    grants: list[Grant] = field(default_factory=list)

    # -- storage and output -----------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"owner": {"id": self.owner_id, "name": self.owner_name},
                           "grants": [{k: v for k, v in vars(g).items() if v}
                                      for g in self.grants]}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None, owner: Party) -> "Acl":
        """The stored ACL; a missing or unreadable one is ``private`` for ``owner``."""
        try:
            data = json.loads(text) if text else None
            if not isinstance(data, dict):
                raise ValueError
            who = data.get("owner") or {}
            grants = [Grant(g["permission"], g.get("canonical_id", ""),
                            g.get("display_name", ""), g.get("group", ""))
                      for g in data.get("grants", [])]
            return cls(who.get("id") or owner.canonical_id,
                       who.get("name") or owner.display_name, grants)
        except (ValueError, TypeError, KeyError, AttributeError):
            return canned("private", owner)

    def to_output(self) -> dict[str, Any]:
        """The ``Owner``/``Grants`` members of GetBucketAcl and GetObjectAcl."""
        return {"Owner": {"ID": self.owner_id, "DisplayName": self.owner_name},
                "Grants": [g.output() for g in self.grants]}

    # -- what it grants ---------------------------------------------------------------------
    def is_public(self) -> bool:
        """Whether anyone outside named accounts gets a permission (AllUsers or
        AuthenticatedUsers)."""
        return any(g.group in (ALL_USERS, AUTHENTICATED_USERS) for g in self.grants)


def _user_grant(permission: str, party: Party) -> Grant:
    return Grant(permission, canonical_id=party.canonical_id, display_name=party.display_name)


def canned(name: str, owner: Party, bucket_owner: Party | None = None,
           exec_reader: Party | None = None) -> Acl:
    """The canned ACL ``name`` for a resource of ``owner``.

    ``bucket_owner`` is the owner of the bucket an object goes into (bucket-owner-read and
    -full-control name it when it is another account); ``exec_reader`` is the account that
    reads image bundles for the cloud (aws-exec-read gives it READ). Unknown -> InvalidArgument.
    """
    if name not in CANNED:
        raise invalid_argument(f"Invalid canned ACL: {name}")
    grants = [_user_grant(FULL_CONTROL, owner)]
    if name == "public-read":
        grants.append(Grant(READ, group=ALL_USERS))
    elif name == "public-read-write":
        grants += [Grant(READ, group=ALL_USERS), Grant(WRITE, group=ALL_USERS)]
    elif name == "authenticated-read":
        grants.append(Grant(READ, group=AUTHENTICATED_USERS))
    elif name == "aws-exec-read":
        if exec_reader is not None and exec_reader.canonical_id != owner.canonical_id:
            grants.append(_user_grant(READ, exec_reader))
    elif name in ("bucket-owner-read", "bucket-owner-full-control"):
        if bucket_owner is not None and bucket_owner.canonical_id != owner.canonical_id:
            permission = READ if name == "bucket-owner-read" else FULL_CONTROL
            grants.append(_user_grant(permission, bucket_owner))
    elif name == "log-delivery-write":
        grants += [Grant(WRITE, group=LOG_DELIVERY), Grant(READ_ACP, group=LOG_DELIVERY)]
    return Acl(owner.canonical_id, owner.display_name, grants)


_GRANTEE_ITEM = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*("([^"]*)"|([^,\s]*))\s*(,|$)',
                           re.IGNORECASE)


def _resolve(cid: str, resolve: Resolver) -> Party:
    party = resolve(cid)
    if party is None:
        raise invalid_argument("Invalid id")
    return party


def _group(uri: str) -> str:
    uri = uri.strip()
    if uri not in GROUPS:
        raise invalid_argument("Invalid group uri")
    return uri


def parse_grant_header(permission: str, value: str, resolve: Resolver) -> list[Grant]:
    """The grants of one ``x-amz-grant-<permission>`` header: ``id="..", uri=".."`` items."""
    grants, position = [], 0
    value = value.strip()
    while position < len(value):
        found = _GRANTEE_ITEM.match(value, position)
        if found is None or found.end() == position:
            raise invalid_argument(f"Invalid grant header value: {value}")
        kind, text = found.group(1).lower(), found.group(3) if found.group(3) is not None \
            else found.group(4)
        if kind == "emailaddress":
            raise unresolvable_email()
        if kind == "uri":
            grants.append(Grant(permission, group=_group(text)))
        else:
            grants.append(_user_grant(permission, _resolve(text, resolve)))
        position = found.end()
    if not grants:
        raise invalid_argument(f"Invalid grant header value: {value}")
    return grants


def from_policy_document(document: dict, owner: Party, resolve: Resolver) -> Acl:
    """An ACL from a parsed ``AccessControlPolicy`` body. Its Owner must be ``owner``."""
    if not isinstance(document, dict):
        raise malformed_acl()
    who = document.get("Owner")
    if not isinstance(who, dict) or not who.get("ID"):
        raise malformed_acl()
    if who["ID"].strip().lower() != owner.canonical_id:
        raise AccessDenied("Access Denied")
    grants: list[Grant] = []
    for item in document.get("Grants") or []:
        grantee, permission = item.get("Grantee"), item.get("Permission")
        if not isinstance(grantee, dict) or permission not in PERMISSIONS:
            raise malformed_acl()
        kind = grantee.get("Type")
        if kind == "CanonicalUser" and grantee.get("ID"):
            grants.append(_user_grant(permission, _resolve(grantee["ID"], resolve)))
        elif kind == "Group" and grantee.get("URI"):
            grants.append(Grant(permission, group=_group(grantee["URI"])))
        elif kind == "AmazonCustomerByEmail" and grantee.get("EmailAddress"):
            raise unresolvable_email()
        else:
            raise malformed_acl()
    return Acl(owner.canonical_id, owner.display_name, grants)


def from_request(params: dict[str, Any], owner: Party, resolve: Resolver, *,
                 bucket_owner: Party | None = None, exec_reader: Party | None = None,
                 body_allowed: bool = False) -> Acl | None:
    """The ACL a request sets through ``ACL`` (x-amz-acl), ``Grant*`` headers or (when
    ``body_allowed``) an ``AccessControlPolicy`` body — or None when it sets none.

    ``params`` holds the operation's parsed members under their model names (CamelCase) or
    their snake_case forms, as handlers receive them."""
    def get(name: str) -> Any:
        value = params.get(name)
        return value if value is not None else params.get(xform_name(name))

    canned_name = get("ACL")
    headers = {member: get(member) for member in GRANT_MEMBERS if get(member) is not None}
    body = get("AccessControlPolicy") if body_allowed else None
    if canned_name is not None and headers:
        raise ClientError("InvalidRequest", "Specifying both Canned ACLs and Header Grants is "
                          "not allowed")
    if body is not None and (canned_name is not None or headers):
        raise ClientError("UnexpectedContent", "This request does not support content")
    if canned_name is not None:
        return canned(canned_name, owner, bucket_owner, exec_reader)
    if headers:
        grants: list[Grant] = []
        for member, value in headers.items():
            grants += parse_grant_header(GRANT_MEMBERS[member], value, resolve)
        return Acl(owner.canonical_id, owner.display_name, grants)
    if body is not None:
        return from_policy_document(body, owner, resolve)
    return None


def permissions(acl: Acl, caller_cid: str | None, authenticated: bool) -> set[str]:
    """What ``acl`` gives the caller whose canonical id is ``caller_cid`` (None: anonymous).

    ``authenticated`` callers are members of AuthenticatedUsers; everyone is in AllUsers;
    nobody outside the cloud's log writer is in LogDelivery."""
    held: set[str] = set()
    for grant in acl.grants:
        if grant.group == ALL_USERS or (grant.group == AUTHENTICATED_USERS and authenticated) \
                or (caller_cid is not None and grant.canonical_id == caller_cid):
            held.add(grant.permission)
    if caller_cid is not None and caller_cid == acl.owner_id:
        held |= {READ_ACP, WRITE_ACP}
    if FULL_CONTROL in held:
        held |= set(PERMISSIONS)
    return held


# IAM action (lower case) -> (level whose ACL decides, permission it needs). Actions absent
# here cannot be granted by an ACL: only the owner's account (and its policies) decide them.
ACTION_PERMISSIONS: dict[str, tuple[str, str]] = {
    "s3:listbucket": ("bucket", READ),
    "s3:listbucketversions": ("bucket", READ),
    "s3:listbucketmultipartuploads": ("bucket", READ),
    "s3:putobject": ("bucket", WRITE),
    "s3:deleteobject": ("bucket", WRITE),
    "s3:deleteobjectversion": ("bucket", WRITE),
    "s3:abortmultipartupload": ("bucket", WRITE),
    "s3:getbucketacl": ("bucket", READ_ACP),
    "s3:putbucketacl": ("bucket", WRITE_ACP),
    "s3:getobject": ("object", READ),
    "s3:getobjectversion": ("object", READ),
    "s3:listmultipartuploadparts": ("object", READ),
    "s3:getobjectacl": ("object", READ_ACP),
    "s3:getobjectversionacl": ("object", READ_ACP),
    "s3:putobjectacl": ("object", WRITE_ACP),
    "s3:putobjectversionacl": ("object", WRITE_ACP),
}
