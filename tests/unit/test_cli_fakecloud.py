"""A small cloud on a loopback port for the command-line tests: real HTTP, real SigV4 checks.

It answers the EC2 and IAM actions the euca-/euare- commands send, keeps IAM state in memory
(accounts, users, groups, keys, inline policies) and writes responses from botocore's own
output shapes, so the commands' botocore clients parse them exactly as they would parse a cloud's.
Helpers and fixtures here are imported by the other test_cli_* modules.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import botocore.session
import pytest

from eucalyptus.cli import connection

ADMIN_KEY, ADMIN_SECRET = "AKIAADMINADMINADMIN0", "admin/secret+admin/secret+admin/secret00"
REGION = "eucalyptus"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
INSTANCE_TYPES = [("m1.small", 1, 256, 5), ("c1.medium", 2, 512, 10), ("m1.large", 2, 512, 10)]

# Eucalyptus' account operations, as data, for runs where eucalyptus.aws.specs is not there yet.
ACCOUNT_OPERATIONS = {
    "operations": {
        "CreateAccount": {"name": "CreateAccount", "http": {"method": "POST", "requestUri": "/"},
                          "input": {"shape": "CreateAccountRequest"},
                          "output": {"shape": "CreateAccountResponse",
                                     "resultWrapper": "CreateAccountResult"}},
        "ListAccounts": {"name": "ListAccounts", "http": {"method": "POST", "requestUri": "/"},
                         "input": {"shape": "ListAccountsRequest"},
                         "output": {"shape": "ListAccountsResponse",
                                    "resultWrapper": "ListAccountsResult"}},
        "DeleteAccount": {"name": "DeleteAccount", "http": {"method": "POST", "requestUri": "/"},
                          "input": {"shape": "DeleteAccountRequest"}},
    },
    "shapes": {
        "CreateAccountRequest": {"type": "structure", "required": ["AccountName"],
                                 "members": {"AccountName": {"shape": "userNameType"}}},
        "CreateAccountResponse": {"type": "structure",
                                  "members": {"Account": {"shape": "EucaAccount"}}},
        "ListAccountsRequest": {"type": "structure", "members": {}},
        "ListAccountsResponse": {"type": "structure",
                                 "members": {"Accounts": {"shape": "EucaAccountList"}}},
        "DeleteAccountRequest": {"type": "structure", "required": ["AccountName"],
                                 "members": {"AccountName": {"shape": "userNameType"},
                                             "Recursive": {"shape": "booleanType"}}},
        "EucaAccount": {"type": "structure",
                        "members": {"AccountName": {"shape": "userNameType"},
                                    "AccountId": {"shape": "accountIdType"}}},
        "EucaAccountList": {"type": "list", "member": {"shape": "EucaAccount"}},
    },
}


def session_with_accounts(data_dir) -> botocore.session.Session:
    """A botocore session whose iam model has the account operations (written under data_dir)."""
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    model = loader.load_service_model("iam", "service-2")
    model["operations"].update(ACCOUNT_OPERATIONS["operations"])
    model["shapes"].update(ACCOUNT_OPERATIONS["shapes"])
    version_dir = data_dir / "iam" / model["metadata"]["apiVersion"]
    version_dir.mkdir(parents=True, exist_ok=True)
    (version_dir / "service-2.json").write_text(json.dumps(model))
    loader.search_paths.insert(0, str(data_dir))
    return session


_service_models: dict = {}


def _service_model(session, name):
    if name not in _service_models:
        _service_models[name] = session.get_service_model(name)
    return _service_models[name]


class FakeError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Account:
    name: str
    id: str
    users: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)


class FakeCloud:
    """The state and behaviour; :meth:`start` serves it on 127.0.0.1 in a thread."""

    def __init__(self, models: botocore.session.Session):
        self.models = {name: _service_model(models, name) for name in ("ec2", "iam")}
        self.accounts: dict[str, Account] = {}
        self.keys: dict[str, dict] = {}
        self.numbers = itertools.count(100000000001)
        self.honour_delegate = True
        self.requests: list[tuple[str, dict]] = []
        self.url = ""
        admin = self.create_account("eucalyptus")
        self.keys[ADMIN_KEY] = {"secret": ADMIN_SECRET, "account": admin.name,
                                "user": "admin", "status": "Active"}
        admin.users["admin"]["keys"].append(ADMIN_KEY)

    # ---- serving -------------------------------------------------------------------------
    def start(self) -> None:
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, text = cloud.handle(self.command, self.path, dict(self.headers), body)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, str]:
        service = "ec2" if path.startswith("/services/compute") else "iam"
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        action = form.get("Action", "")
        try:
            caller = self.authenticate(method, path, headers, body)
            self.requests.append((action, form))
            handler = getattr(self, f"{service}_{action}", None)
            if handler is None:
                raise FakeError("InvalidAction", f"The action {action} is not valid")
            result = handler(caller, form) or {}
            return 200, self.serialize(service, action, result)
        except FakeError as exc:
            return exc.status, self.serialize_error(service, exc)

    # ---- SigV4 -----------------------------------------------------------------------------
    def authenticate(self, method: str, path: str, headers: dict, body: bytes) -> dict:
        lower = {name.lower(): value for name, value in headers.items()}
        auth = lower.get("authorization", "")
        try:
            fields = dict(part.strip().split("=", 1) for part in auth.split(" ", 1)[1].split(","))
            key_id, date, region, service, _ = fields["Credential"].split("/")
        except (IndexError, ValueError, KeyError):
            raise FakeError("AuthFailure", "Missing or malformed authorization", 401)
        key = self.keys.get(key_id)
        if key is None or key["status"] != "Active":
            raise FakeError("AuthFailure", "AWS was not able to validate the provided access "
                                           "credentials", 401)
        signed = fields["SignedHeaders"].split(";")
        canonical = "\n".join([
            method, urllib.parse.quote(path.split("?")[0], safe="/~"), "",
            "".join(f"{name}:{' '.join(lower[name].split())}\n" for name in signed),
            ";".join(signed), hashlib.sha256(body).hexdigest()])
        scope = f"{date}/{region}/{service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", lower["x-amz-date"], scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signing_key = ("AWS4" + key["secret"]).encode()
        for part in (date, region, service, "aws4_request"):
            signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise FakeError("SignatureDoesNotMatch", "The request signature we calculated does "
                                                     "not match the signature you provided", 403)
        return key

    # ---- wire ----------------------------------------------------------------------------
    def serialize(self, service: str, action: str, result: dict) -> str:
        operation = self.models[service].operation_model(action)
        shape = operation.output_shape
        if service == "ec2":
            inner = self._members(shape, result, "item") if shape else ""
            return (f'<{action}Response xmlns="{EC2_NS}"><requestId>r-1</requestId>{inner}'
                    f"</{action}Response>")
        inner = f"<{action}Result>{self._members(shape, result, 'member')}</{action}Result>" \
            if shape else ""
        return (f'<{action}Response xmlns="{IAM_NS}">{inner}<ResponseMetadata><RequestId>r-1'
                f"</RequestId></ResponseMetadata></{action}Response>")

    def _members(self, shape, value: dict, item: str) -> str:
        return "".join(self._xml(member, value[name], member.serialization.get("name", name), item)
                       for name, member in shape.members.items() if name in value)

    def _xml(self, shape, value, tag: str, item: str) -> str:
        if shape.type_name == "structure":
            text = self._members(shape, value, item)
        elif shape.type_name == "list":
            member_tag = shape.member.serialization.get("name", item)
            text = "".join(self._xml(shape.member, v, member_tag, item) for v in value)
        elif shape.type_name == "boolean":
            text = "true" if value else "false"
        elif shape.type_name == "timestamp":
            text = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            text = escape(str(value))
        return f"<{tag}>{text}</{tag}>"

    def serialize_error(self, service: str, exc: FakeError) -> str:
        if service == "ec2":
            return (f"<Response><Errors><Error><Code>{exc.code}</Code><Message>"
                    f"{escape(exc.message)}</Message></Error></Errors><RequestID>r-1</RequestID>"
                    "</Response>")
        return (f'<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>{exc.code}'
                f"</Code><Message>{escape(exc.message)}</Message></Error><RequestId>r-1"
                "</RequestId></ErrorResponse>")

    # ---- EC2 -----------------------------------------------------------------------------
    @staticmethod
    def _list(form: dict, prefix: str) -> list[str]:
        return [value for name, value in sorted(form.items()) if name.startswith(prefix + ".")]

    def ec2_DescribeRegions(self, caller, form):
        names = self._list(form, "RegionName")
        for name in names:
            if name != REGION:
                raise FakeError("InvalidParameterValue", f"Invalid region: {name}")
        return {"Regions": [{"RegionName": REGION, "Endpoint": self.url + "/services/compute"}]}

    def ec2_DescribeAvailabilityZones(self, caller, form):
        names = self._list(form, "ZoneName")
        zones = [{"ZoneName": "one", "State": "available", "RegionName": REGION}]
        if "verbose" in names:
            zones.append({"ZoneName": "|- vm types", "State": "free / max   cpu   ram  disk"})
            zones += [{"ZoneName": f"|- {name}", "State": f"0004 / 0004   {cpu}   {ram}   {disk}"}
                      for name, cpu, ram, disk in INSTANCE_TYPES]
        elif names and names != ["one"]:
            raise FakeError("InvalidParameterValue", f"The zone '{names[0]}' does not exist.")
        return {"AvailabilityZones": zones}

    def ec2_DescribeInstanceTypes(self, caller, form):
        wanted = self._list(form, "InstanceType")
        filters = {form[n]: form[n.replace(".Name", ".Value.1")]
                   for n in form if n.startswith("Filter.") and n.endswith(".Name")}
        types = [t for t in INSTANCE_TYPES if not wanted or t[0] in wanted]
        if "vcpu-info.default-vcpus" in filters:
            types = [t for t in types if str(t[1]) == filters["vcpu-info.default-vcpus"]]
        return {"InstanceTypes": [
            {"InstanceType": name, "VCpuInfo": {"DefaultVCpus": cpu},
             "MemoryInfo": {"SizeInMiB": ram}, "InstanceStorageInfo": {"TotalSizeInGB": disk}}
            for name, cpu, ram, disk in types]}

    # ---- IAM: accounts -------------------------------------------------------------------
    def create_account(self, name: str) -> Account:
        account = Account(name, str(next(self.numbers)))
        self.accounts[name] = account
        self._new_user(account, "admin", "/")
        return account

    def _cloud_admin(self, caller):
        if caller["account"] != "eucalyptus":
            raise FakeError("AccessDenied", "Only the cloud administrator may do that", 403)

    def iam_CreateAccount(self, caller, form):
        self._cloud_admin(caller)
        if form["AccountName"] in self.accounts:
            raise FakeError("EntityAlreadyExists", "Account already exists", 409)
        account = self.create_account(form["AccountName"])
        return {"Account": {"AccountName": account.name, "AccountId": account.id}}

    def iam_ListAccounts(self, caller, form):
        self._cloud_admin(caller)
        return {"Accounts": [{"AccountName": a.name, "AccountId": a.id}
                             for a in self.accounts.values()]}

    def iam_DeleteAccount(self, caller, form):
        self._cloud_admin(caller)
        account = self.accounts.get(form["AccountName"])
        if account is None:
            raise FakeError("NoSuchEntity", "Account does not exist", 404)
        if (len(account.users) > 1 or account.groups) and form.get("Recursive") != "true":
            raise FakeError("DeleteConflict", "The account still has users or groups", 409)
        del self.accounts[account.name]

    # ---- IAM: users, groups, keys, policies ----------------------------------------------
    def _account(self, caller, form) -> Account:
        delegate = form.get("DelegateAccount")
        if delegate and self.honour_delegate:
            self._cloud_admin(caller)
            return self.accounts[delegate]
        return self.accounts[caller["account"]]

    def _new_user(self, account: Account, name: str, path: str) -> dict:
        user = {"UserName": name, "Path": path, "UserId": f"AIDA{next(self.numbers)}",
                "Arn": f"arn:aws:iam::{account.id}:user{path}{name}",
                "CreateDate": dt.datetime(2024, 1, 1), "keys": [], "policies": {}, "groups": set()}
        account.users[name] = user
        return user

    @staticmethod
    def _public(entity: dict) -> dict:
        return {k: v for k, v in entity.items() if k[0].isupper()}

    def _user(self, caller, form, default_caller=False) -> dict:
        account = self._account(caller, form)
        name = form.get("UserName") or (caller["user"] if default_caller else None)
        if name not in account.users:
            raise FakeError("NoSuchEntity", f"The user with name {name} cannot be found.", 404)
        return account.users[name]

    def _group(self, caller, form) -> dict:
        account = self._account(caller, form)
        if form["GroupName"] not in account.groups:
            raise FakeError("NoSuchEntity", f"The group with name {form['GroupName']} "
                                            "cannot be found.", 404)
        return account.groups[form["GroupName"]]

    def iam_CreateUser(self, caller, form):
        account = self._account(caller, form)
        if form["UserName"] in account.users:
            raise FakeError("EntityAlreadyExists", "User already exists", 409)
        return {"User": self._public(self._new_user(account, form["UserName"],
                                                    form.get("Path", "/")))}

    def iam_GetUser(self, caller, form):
        return {"User": self._public(self._user(caller, form, default_caller=True))}

    def iam_ListUsers(self, caller, form):
        prefix = form.get("PathPrefix", "/")
        return {"Users": [self._public(u) for u in self._account(caller, form).users.values()
                          if u["Path"].startswith(prefix)]}

    def iam_DeleteUser(self, caller, form):
        user = self._user(caller, form)
        if user["keys"] or user["policies"] or user["groups"]:
            raise FakeError("DeleteConflict", "Cannot delete entity, must delete policies, "
                                              "keys and group memberships first.", 409)
        del self._account(caller, form).users[user["UserName"]]

    def iam_CreateAccessKey(self, caller, form):
        user = self._user(caller, form, default_caller=True)
        if len(user["keys"]) >= 2:
            raise FakeError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
        key_id, secret = f"AKIA{next(self.numbers):016d}", f"secret{next(self.numbers)}"
        account = self._account(caller, form)
        self.keys[key_id] = {"secret": secret, "account": account.name,
                             "user": user["UserName"], "status": "Active"}
        user["keys"].append(key_id)
        return {"AccessKey": {"UserName": user["UserName"], "AccessKeyId": key_id,
                              "Status": "Active", "SecretAccessKey": secret}}

    def iam_ListAccessKeys(self, caller, form):
        user = self._user(caller, form, default_caller=True)
        return {"AccessKeyMetadata": [
            {"UserName": user["UserName"], "AccessKeyId": k, "Status": self.keys[k]["status"]}
            for k in user["keys"]]}

    def _key(self, caller, form) -> dict:
        user = self._user(caller, form, default_caller=True)
        if form["AccessKeyId"] not in user["keys"]:
            raise FakeError("NoSuchEntity", "The Access Key cannot be found", 404)
        return user

    def iam_UpdateAccessKey(self, caller, form):
        self._key(caller, form)
        self.keys[form["AccessKeyId"]]["status"] = form["Status"]

    def iam_DeleteAccessKey(self, caller, form):
        self._key(caller, form)["keys"].remove(form["AccessKeyId"])
        del self.keys[form["AccessKeyId"]]

    def iam_CreateGroup(self, caller, form):
        account, path = self._account(caller, form), form.get("Path", "/")
        if form["GroupName"] in account.groups:
            raise FakeError("EntityAlreadyExists", "Group already exists", 409)
        group = {"GroupName": form["GroupName"], "Path": path, "GroupId": "AGPA1",
                 "Arn": f"arn:aws:iam::{account.id}:group{path}{form['GroupName']}",
                 "CreateDate": dt.datetime(2024, 1, 1), "members": [], "policies": {}}
        account.groups[form["GroupName"]] = group
        return {"Group": self._public(group)}

    def iam_ListGroups(self, caller, form):
        prefix = form.get("PathPrefix", "/")
        return {"Groups": [self._public(g) for g in self._account(caller, form).groups.values()
                           if g["Path"].startswith(prefix)]}

    def iam_GetGroup(self, caller, form):
        group, users = self._group(caller, form), self._account(caller, form).users
        return {"Group": self._public(group),
                "Users": [self._public(users[name]) for name in group["members"]]}

    def iam_DeleteGroup(self, caller, form):
        group = self._group(caller, form)
        if group["members"] or group["policies"]:
            raise FakeError("DeleteConflict", "Cannot delete entity, must remove users and "
                                              "policies first.", 409)
        del self._account(caller, form).groups[group["GroupName"]]

    def iam_AddUserToGroup(self, caller, form):
        group, user = self._group(caller, form), self._user(caller, form)
        if user["UserName"] not in group["members"]:
            group["members"].append(user["UserName"])
        user["groups"].add(group["GroupName"])

    def iam_RemoveUserFromGroup(self, caller, form):
        group, user = self._group(caller, form), self._user(caller, form)
        group["members"].remove(user["UserName"])
        user["groups"].discard(group["GroupName"])

    def iam_ListGroupsForUser(self, caller, form):
        user, groups = self._user(caller, form), self._account(caller, form).groups
        return {"Groups": [self._public(groups[name]) for name in sorted(user["groups"])]}

    def iam_ListAttachedUserPolicies(self, caller, form):
        self._user(caller, form)
        return {"AttachedPolicies": []}

    def iam_ListAttachedGroupPolicies(self, caller, form):
        self._group(caller, form)
        return {"AttachedPolicies": []}

    def _holder(self, caller, form):
        return (self._user(caller, form), "UserName") if "UserName" in form \
            else (self._group(caller, form), "GroupName")

    def _put_policy(self, caller, form):
        holder, _ = self._holder(caller, form)
        try:
            json.loads(form["PolicyDocument"])["Statement"]
        except (ValueError, KeyError, TypeError):
            raise FakeError("MalformedPolicyDocument", "Syntax errors in policy.")
        holder["policies"][form["PolicyName"]] = form["PolicyDocument"]

    def _get_policy(self, caller, form):
        holder, member = self._holder(caller, form)
        if form["PolicyName"] not in holder["policies"]:
            raise FakeError("NoSuchEntity", f"The policy {form['PolicyName']} cannot be found.",
                            404)
        return {member: holder[member], "PolicyName": form["PolicyName"],
                "PolicyDocument": urllib.parse.quote(holder["policies"][form["PolicyName"]])}

    def _list_policies(self, caller, form):
        return {"PolicyNames": sorted(self._holder(caller, form)[0]["policies"])}

    def _delete_policy(self, caller, form):
        self._get_policy(caller, form)
        del self._holder(caller, form)[0]["policies"][form["PolicyName"]]

    iam_PutUserPolicy = iam_PutGroupPolicy = _put_policy
    iam_GetUserPolicy = iam_GetGroupPolicy = _get_policy
    iam_ListUserPolicies = iam_ListGroupPolicies = _list_policies
    iam_DeleteUserPolicy = iam_DeleteGroupPolicy = _delete_policy


# ---- fixtures shared by the test_cli_* modules ------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No endpoint, key or profile leaks in from the machine running the tests."""
    import os
    for name in list(os.environ):
        if name.startswith(("AWS_", "EC2_", "EUARE_", "TOKEN_", "S3_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture(scope="session")
def account_models_dir(tmp_path_factory):
    """A botocore data directory with the iam model plus the account operations, written once."""
    data_dir = tmp_path_factory.mktemp("models")
    session_with_accounts(data_dir)
    return data_dir


_shared_loader = {}


@pytest.fixture
def models(account_models_dir, monkeypatch):
    """The botocore session the commands use, with the account operations in its iam model.

    Sessions made during a test share one data loader, so each JSON model is read from disk
    once per test run rather than once per command.
    """
    product_session = connection.botocore_session

    def base_session():
        made = product_session()
        if "CreateAccount" not in made.get_service_model("iam").operation_names:
            made = botocore.session.get_session()
            made.get_component("data_loader").search_paths.insert(0, str(account_models_dir))
        return made

    def shared(profile=None):
        made = botocore.session.get_session()
        if "loader" not in _shared_loader:
            _shared_loader["loader"] = base_session().get_component("data_loader")
        made.register_component("data_loader", _shared_loader["loader"])
        if profile:
            made.set_config_variable("profile", profile)
        return made
    monkeypatch.setattr(connection, "botocore_session", shared)
    return shared()


@pytest.fixture
def cloud(models, clean_env):
    """A running fake cloud; the eucarc variables point the commands at it as its admin."""
    fake = FakeCloud(models)
    fake.start()
    clean_env.setenv("EC2_URL", fake.url + "/services/compute")
    clean_env.setenv("EUARE_URL", fake.url + "/services/Euare")
    clean_env.setenv("EC2_ACCESS_KEY", ADMIN_KEY)
    clean_env.setenv("EC2_SECRET_KEY", ADMIN_SECRET)
    yield fake
    fake.stop()


def run(command, argv, capsys) -> tuple[int, list[str], str]:
    """Run a command in-process: (exit status, stdout lines, stderr)."""
    status = command(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def test_fake_cloud_rejects_a_wrong_secret(cloud, capsys):
    from eucalyptus.cli.regions import describe_regions
    status, out, err = run(describe_regions, ["-I", ADMIN_KEY, "-S", "not-the-secret"], capsys)
    assert status == 1 and out == []
    assert err.startswith("euca-describe-regions: error (SignatureDoesNotMatch): ")


def test_fake_cloud_accepts_its_admin(cloud, capsys):
    from eucalyptus.cli.regions import describe_regions
    assert run(describe_regions, [], capsys)[0] == 0
    assert cloud.requests[-1][0] == "DescribeRegions"
