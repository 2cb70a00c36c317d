"""IAM with Eucalyptus accounts: handlers (one module per noun), policy evaluation and the
identity lookups the gateway and the admin CLI use (``identity``)."""
from eucalyptus.services.iam import (access_keys, accounts, groups, inline_policies,
                                     managed_policies, signing_certificates, users)
from eucalyptus.services.iam.resources import resource_arn

__all__ = ["HANDLER_MODULES", "resource_arn"]

HANDLER_MODULES = [accounts, users, groups, access_keys, inline_policies, managed_policies,
                   signing_certificates]
