"""The S3 API served by Walrus: one module per noun, handlers found by ``@operation``.

``HANDLER_MODULES`` lists every module holding handlers; the Walrus front door builds its
dispatch table from it, so a feature adds its module here and nothing else.
"""
from eucalyptus.services.s3 import buckets, listing, multipart, objects, versioning
from eucalyptus.services.s3 import grants, policies
from eucalyptus.services.s3 import cors, lifecycle, tagging

HANDLER_MODULES = [buckets, objects, listing, multipart, versioning, grants, policies,
                   cors, tagging, lifecycle]

