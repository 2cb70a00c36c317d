"""The IAM/STS handler modules as the gateway sees them: dispatch tables and CamelCase calls."""
import asyncio
import uuid

import botocore.session
import pytest
from botocore import xform_name

from eucalyptus.aws.dispatch import DispatchTable, RequestContext
from eucalyptus.errors import InvalidAction
from eucalyptus.services import iam, sts

EUCALYPTUS_EXTENSIONS = {"create_account", "list_accounts", "delete_account"}


@pytest.mark.parametrize("service, modules", [("iam", iam.HANDLER_MODULES),
                                              ("sts", sts.HANDLER_MODULES)])
def test_every_handler_names_a_model_operation(service, modules):
    table = DispatchTable(service, modules)
    model = botocore.session.get_session().get_service_model(service)
    known = {xform_name(op) for op in model.operation_names}
    assert set(table.handlers) - known <= EUCALYPTUS_EXTENSIONS
    assert len(table.handlers) >= (45 if service == "iam" else 2)


def test_calls_through_the_dispatch_table(world):
    table = DispatchTable("iam", iam.HANDLER_MODULES)

    def call(operation, params):
        with world.session() as s:
            ctx = RequestContext(request_id=str(uuid.uuid4()), service="iam",
                                 operation=operation, region="eucalyptus",
                                 principal=world.admin, db=s)
            return asyncio.run(table.call(ctx, params))

    call("CreateAccount", {"AccountName": "alpha"})
    names = [a["AccountName"] for a in call("ListAccounts", {})["Accounts"]]
    assert names == ["alpha", "eucalyptus"]
    call("CreateUser", {"UserName": "bob", "Path": "/x/"})
    page = call("ListUsers", {"PathPrefix": "/x/", "MaxItems": 5})
    assert [u["UserName"] for u in page["Users"]] == ["bob"]
    with pytest.raises(InvalidAction):
        call("LaunchRockets", {})
    world.close()
