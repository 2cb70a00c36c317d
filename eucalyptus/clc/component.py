"""The Cloud Controller: the user APIs (EC2, IAM, STS) and the cloud's database.

Public paths go to the AWS gateway (``clc.user_api.make_gateway(self)``); internal ones serve cloud
properties, credentials and the cluster registry (``clc.clusters``) to the admin command.
``cluster_resources()`` asks every zone's cluster controller for its nodes.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from eucalyptus.clc import properties
from eucalyptus.config import Settings
from eucalyptus.db.engine import Database
from eucalyptus.errors import ServiceError
from eucalyptus.rpc.messages import (CredentialsGrant, CredentialsQuery,
                                     PropertyList, PropertyQuery, PropertyUpdate)
from eucalyptus.rpc.service import Component, add_gateway

log = logging.getLogger("eucalyptus.clc")


class CloudController(Component):
    name = "clc"

    def __init__(self, settings: Settings, db: Database | None = None):
        super().__init__(settings)
        if db is None and not settings.values["DATABASE_URL"]:
            settings.path("db").mkdir(parents=True, exist_ok=True)   # the default SQLite file
        self.db = db or Database(settings.database_url)
        self.routes.add("POST", "properties", self._properties, PropertyQuery,
                        callers={"admin"})
        self.routes.add("POST", "properties/set", self._set_properties, PropertyUpdate,
                        callers={"admin"})
        self.routes.add("POST", "credentials", self._credentials, CredentialsQuery,
                        callers={"admin"})
        from eucalyptus.clc import clusters
        clusters.add_routes(self)

    # -- what services call -------------------------------------------------------------------
    async def cluster_resources(self) -> list[dict]:
        """One entry per zone (``clc.clusters``), each cluster controller asked concurrently,
        with its state and the nodes that are up and enabled (see the EC2 zones handler)."""
        from eucalyptus.clc import clusters
        every = await asyncio.to_thread(clusters.all, self)
        return list(await asyncio.gather(*(self._zone_resources(c) for c in every)))

    async def _zone_resources(self, cluster) -> dict:
        from eucalyptus.clc import clusters
        try:
            answer = await clusters.cluster_answer(self, cluster)
        except ServiceError as exc:
            log.warning("cluster controller %s: %s", cluster.cc_url, exc.message)
            return {"zone": cluster.zone, "state": "unavailable", "cc_url": cluster.cc_url,
                    "nodes": []}
        nodes = [{"host": n.address, "cores_total": r.cores_total, "cores_free": r.cores_free,
                  "memory_total_mib": r.memory_total_mib, "memory_free_mib": r.memory_free_mib,
                  "disk_total_gib": r.disk_total_gib, "disk_free_gib": r.disk_free_gib}
                 for n in answer.nodes
                 if n.state == "up" and n.enabled and (r := n.resources) is not None]
        return {"zone": cluster.zone, "state": "available", "cc_url": cluster.cc_url,
                "nodes": nodes}

    # -- internal API -------------------------------------------------------------------------
    async def _properties(self, msg: PropertyQuery, _caller: str) -> PropertyList:
        def read() -> PropertyList:
            with self.db.session() as s:
                return PropertyList(properties.describe(s, msg.names, self.settings))
        return await asyncio.to_thread(read)

    async def _set_properties(self, msg: PropertyUpdate, _caller: str) -> PropertyList:
        def write() -> PropertyList:
            with self.db.session() as s:
                return PropertyList(properties.update(s, msg.values, self.settings))
        return await asyncio.to_thread(write)

    async def _credentials(self, msg: CredentialsQuery, _caller: str) -> CredentialsGrant:
        from eucalyptus.services.iam import identity

        def fetch() -> CredentialsGrant:
            with self.db.session() as s:
                key_id, secret, account_id, arn = identity.credentials_for(
                    s, msg.account, msg.user)
            return CredentialsGrant(account_id=account_id, arn=arn, access_key_id=key_id,
                                    secret_access_key=secret)
        return await asyncio.to_thread(fetch)

    # -- user APIs ----------------------------------------------------------------------------
    def add_public_routes(self, app: web.Application) -> None:
        from eucalyptus.clc.user_api import make_gateway
        add_gateway(app, make_gateway(self))

    async def start(self) -> None:
        from eucalyptus.clc.instance_sync import InstanceSync
        self._instance_sync = asyncio.create_task(InstanceSync(self).run_forever())
        from eucalyptus.clc.storage_sync import StorageSync
        self._storage_sync = asyncio.create_task(StorageSync(self).run_forever())
        from eucalyptus.clc.network_sync import NetworkSync
        self.network_sync = NetworkSync(self)
        self._network_sync = asyncio.create_task(self.network_sync.run_forever())
        from eucalyptus.services.ec2.ebs_instances import EbsSync
        self._ebs_sync = asyncio.create_task(EbsSync(self).run_forever())

    async def stop(self) -> None:
        for sync in (getattr(self, "_instance_sync", None), getattr(self, "_storage_sync", None),
                     getattr(self, "_network_sync", None), getattr(self, "_ebs_sync", None)):
            if sync is not None:
                sync.cancel()
                await asyncio.gather(sync, return_exceptions=True)
        from eucalyptus.clc import clusters
        await clusters.close_clients(self)
        self.db.dispose()

    def health_details(self) -> dict[str, Any]:
        return {"region": self.region, "zone": self.zone,
                "database": self.db.engine.url.render_as_string(hide_password=True)}

