"""The EC2 API: one module per noun, each holding the ``@operation`` handlers of that noun.

``HANDLER_MODULES`` lists the modules whose handlers make up the EC2 dispatch table.
"""
from eucalyptus.services.ec2 import account_attributes, instance_types, regions, zones

HANDLER_MODULES = [regions, zones, instance_types, account_attributes]
