"""STS: caller identity and temporary session credentials."""
from eucalyptus.services.sts import tokens

HANDLER_MODULES = [tokens]
