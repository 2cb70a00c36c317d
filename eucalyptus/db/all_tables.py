"""Imports every module that defines tables, so ``Base.metadata`` knows them all.

Each area keeps its tables in its own module beside ``schema.py`` (which holds ``Base``,
identity and cloud-wide tables) and its own migration branch off revision 0001 (migrations are
applied with ``upgrade heads``). Add one import line here per tables module.
"""
from eucalyptus.db import schema  # noqa: F401
from eucalyptus.db import objects  # noqa: F401
from eucalyptus.db import images  # noqa: F401
from eucalyptus.db import compute  # noqa: F401
from eucalyptus.db import storage  # noqa: F401
from eucalyptus.db import network  # noqa: F401
from eucalyptus.db import ebs  # noqa: F401
from eucalyptus.db import clusters  # noqa: F401
