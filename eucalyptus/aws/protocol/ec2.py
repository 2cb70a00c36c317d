"""The ec2 protocol: query-style requests with EC2's naming, responses as
``<OpResponse xmlns="http://ec2.amazonaws.com/doc/<apiVersion>/"><requestId/>..``
with ``<item>`` list elements, and the ``Response/Errors/Error`` error document.

The implementation is :class:`eucalyptus.aws.protocol.query.Ec2Protocol`.
"""
from __future__ import annotations

from eucalyptus.aws.protocol.query import Ec2Protocol

PROTOCOL = Ec2Protocol()
parse = PROTOCOL.parse
serialize = PROTOCOL.serialize
serialize_error = PROTOCOL.serialize_error
