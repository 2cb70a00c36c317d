"""The EC2 API: one module per noun, each holding the ``@operation`` handlers of that noun.

``HANDLER_MODULES`` lists the modules whose handlers make up the EC2 dispatch table.
"""
from eucalyptus.services.ec2 import account_attributes, instance_types, regions, zones
from eucalyptus.services.ec2 import image_attributes, images, keypairs, service_certificates

HANDLER_MODULES = [regions, zones, instance_types, account_attributes]
HANDLER_MODULES += [images, image_attributes, keypairs, service_certificates]
from eucalyptus.services.ec2 import instance_attributes, instance_status, instances, tags
HANDLER_MODULES += [instances, instance_status, instance_attributes, tags]
from eucalyptus.services.ec2 import snapshot_attributes, snapshots, volume_attachments, volumes
HANDLER_MODULES += [volumes, volume_attachments, snapshots, snapshot_attributes]
from eucalyptus.services.ec2 import addresses, security_group_rules, security_groups
HANDLER_MODULES += [security_groups, security_group_rules, addresses]
from eucalyptus.services.ec2 import ebs_images
HANDLER_MODULES += [ebs_images]
