"""euare-useraddkey, euare-userlistkeys, euare-usermodkey, euare-userdelkey.

Without ``-u`` each acts on the caller's own keys. Records::

    euare-useraddkey [-u NAME]    the new key id, then its secret
    euare-userlistkeys [-u NAME]  <key id>\\t<status>  per key
"""
from __future__ import annotations

from eucalyptus.cli.command import Command, arg, listing
from eucalyptus.cli.users import key_records, user_name_arg

key_id = arg("-k", "--user-key-id", param="AccessKeyId", required=True, metavar="KEY_ID",
             help="the access key id")


user_add_key = Command(
    name="euare-useraddkey",
    service="iam",
    operation="CreateAccessKey",
    help="Create an access key for a user and print its id and secret.",
    args=[user_name_arg(required=False)],
    records=lambda response, args: key_records(response),
)

user_list_keys = Command(
    name="euare-userlistkeys",
    service="iam",
    operation="ListAccessKeys",
    help="List a user's access keys and their status.",
    args=[user_name_arg(required=False)],
    records=listing("AccessKeyMetadata", "AccessKeyId", "Status"),
    json_output=True,
)

user_mod_key = Command(
    name="euare-usermodkey",
    service="iam",
    operation="UpdateAccessKey",
    help="Activate or deactivate an access key.",
    args=[key_id,
          arg("-s", "--status", param="Status", required=True, choices=["Active", "Inactive"],
              help="the key's new status"),
          user_name_arg(required=False)],
)

user_del_key = Command(
    name="euare-userdelkey",
    service="iam",
    operation="DeleteAccessKey",
    help="Delete an access key.",
    args=[key_id, user_name_arg(required=False)],
)
