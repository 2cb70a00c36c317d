"""Tables of the cloud's cluster registry: the availability zones registered beside the home one.

The home cluster (ZONE, CC_HOST/CC_PORT, SC_HOST/SC_PORT of the cloud controller's settings) is
never stored; every other cluster the administrator registers
(``eucalyptus register-cluster``) is one row: its zone name, the base URL of its cluster
controller and that of its storage controller.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from eucalyptus.db.schema import Base, utcnow


class ClusterRecord(Base):
    __tablename__ = "clusters"
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    cc_url: Mapped[str] = mapped_column(String(255))
    sc_url: Mapped[str] = mapped_column(String(255))
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
