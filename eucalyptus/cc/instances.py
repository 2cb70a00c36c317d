"""The cluster controller's instances: placement, launch, and soft state rebuilt from nodes.

``ClusterInstances`` serves the routes of ``cc.instance_messages``. A launch places the
instances with the SCHEDPOLICY policy on the nodes' last reports (less what launches still in
flight will take), attaches each to the instance network, registers its metadata, and boots it
in a background task: the node fetches the images (``nc.image_fetch``), then runs the guest.
A launch that fails is reported terminated with the node's reason and its network released.

Nothing is persisted here: ``poll()`` (run after every node poll) asks each up node to
describe its instances and takes that as the truth. Instances of a node that stops answering
keep their last state with ``node_state`` "down"; an instance an answering node no longer
knows (and no launch is under way for) is terminated with a Server.InternalError reason.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from eucalyptus import errors
from eucalyptus.cc import scheduler
from eucalyptus.cc.instance_messages import (InstanceIds, InstanceLaunch,
                                             InstanceView, InstanceViews, LaunchedInstance,
                                             LaunchReply, LaunchRequest, NodeKeys)
from eucalyptus.cc.nodes import NodeTable
from eucalyptus.nc.image_fetch import FetchedImage, ImageSource, NodeImageKey
from eucalyptus.nc.messages import (ConsoleOutput, ConsoleQuery, InstanceInfo, InstanceList,
                                    InstanceQuery, InstanceRef, NicSpec, RunInstance)

log = logging.getLogger("eucalyptus.cc.instances")
CALLERS = {"clc", "admin"}
FORGET_TERMINATED_S = 3600.0
Client = Callable[[str, float], object]          # (node URL, timeout) -> a new RpcClient


def insufficient_capacity(message: str) -> errors.ServiceError:
    return errors.ServerError("InsufficientInstanceCapacity", message)


class ClusterInstances:
    def __init__(self, nodes: NodeTable, client: Client, network, schedpolicy: str,
                 zone: str):
        self.nodes = nodes
        self.client = client
        self.network = network                  # cc.vnet.manager.InstanceNetwork
        self.policy = scheduler.policy(schedpolicy)
        self.zone = zone
        self.views: dict[str, InstanceView] = {}
        self.inflight: dict[str, scheduler.Size] = {}     # launching: instance -> size
        self.tasks: dict[str, asyncio.Task] = {}
        self.doomed: set[str] = set()           # terminate once the launch finishes
        self.node_keys: dict[str, str] = {}
        self._place_lock = asyncio.Lock()
        self._clients: dict[tuple[str, float], object] = {}

    async def _call(self, node: str, name: str, msg, reply, timeout: float = 30.0):
        client = self._clients.get((node, timeout))
        if client is None:
            client = self._clients[(node, timeout)] = self.client(f"http://{node}", timeout)
        return await client.call("POST", name, msg, reply=reply)

    # -- node keys ----------------------------------------------------------------------------
    def _up_nodes(self) -> list:
        return [n for n in self.nodes.snapshot() if n.state == "up" and n.resources]

    async def keys(self) -> NodeKeys:
        async def one(address: str) -> None:
            if address in self.node_keys:
                return
            try:
                got = await self._call(address, "node/images/key", None, NodeImageKey, 10)
                self.node_keys[address] = got.public_key_pem
            except errors.ServiceError as exc:
                log.warning("image key of node %s: %s", address, exc.message)
        up = [n.address for n in self._up_nodes()]
        await asyncio.gather(*(one(a) for a in up))
        return NodeKeys({a: self.node_keys[a] for a in up if a in self.node_keys})

    # -- placement and launch -----------------------------------------------------------------
    def _candidates(self) -> list[scheduler.Candidate]:
        pending: dict[str, list[scheduler.Size]] = {}
        for iid, size in self.inflight.items():
            view = self.views.get(iid)
            if view is not None:
                pending.setdefault(view.node, []).append(size)
        out = []
        for n in self._up_nodes():
            r = n.resources
            free = scheduler.Size(r.cores_free, r.memory_free_mib, r.disk_free_gib)
            cand = scheduler.Candidate(
                n.address, free, scheduler.Size(r.cores_total, r.memory_total_mib,
                                                r.disk_total_gib),
                zone=self.zone, enabled=n.enabled, instances=r.instances)
            for size in pending.get(n.address, []):
                cand.take(size)
            out.append(cand)
        return out

    async def run(self, req: LaunchRequest) -> LaunchReply:
        if req.zone and req.zone != self.zone:
            raise errors.InvalidParameterValue(f"This cluster serves zone {self.zone}, "
                                               f"not {req.zone}")
        if not 1 <= req.min_count <= len(req.instances):
            raise errors.InvalidParameterValue("min_count must be between 1 and the number "
                                               "of instances")
        size = scheduler.Size(req.vcpus, req.memory_mib, req.disk_gib)
        async with self._place_lock:
            placed = scheduler.place(self.policy, self._candidates(), size,
                                     len(req.instances), req.zone)
            if len(placed) < req.min_count:
                raise insufficient_capacity(
                    f"There is not enough capacity to fulfil your request: {len(placed)} of "
                    f"{req.min_count} {req.instance_type} instance(s) fit in zone "
                    f"{self.zone}.")
            launches = list(zip(req.instances[:len(placed)], placed))
            for launch, node in launches:
                missing = [i.image_id for i in req.images if node not in i.sealed]
                if missing:
                    raise errors.ServiceUnavailable(
                        f"node {node} has no image key for {', '.join(missing)}; retry")
                self.inflight[launch.instance_id] = size
                self.views[launch.instance_id] = InstanceView(
                    launch.instance_id, node, "pending", reported_at=time.time())
        out = []
        try:
            for launch, node in launches:
                out.append(await self._attach(launch, node, req))
        except BaseException:
            for launch, _node in launches:
                self.inflight.pop(launch.instance_id, None)
                self.views.pop(launch.instance_id, None)
                await self._release_network(launch.instance_id)
            raise
        for (launch, node), placed_instance in zip(launches, out):
            self.tasks[launch.instance_id] = asyncio.create_task(
                self._boot(req, launch, node, placed_instance))
        return LaunchReply(out)

    async def _attach(self, launch: InstanceLaunch, node: str,
                      req: LaunchRequest | None = None) -> LaunchedInstance:
        """Network and metadata for one placed instance (none when the network is down)."""
        if self.network is None or not self.network.available:
            return LaunchedInstance(launch.instance_id, node)
        att = await self.network.attach(launch.instance_id,
                                        launch.metadata.get("hostname", ""),
                                        req.groups if req else [], req.owner_id if req else "")
        document = dict(launch.metadata)
        document.setdefault("hostname", att.hostname)
        document.setdefault("local-hostname", att.hostname)
        self.network.put_metadata(launch.instance_id, att.private_ip, document)
        self.views[launch.instance_id].private_ip = att.private_ip
        return LaunchedInstance(launch.instance_id, node, att.private_ip, att.mac,
                                att.hostname)

    async def _release_network(self, instance_id: str) -> None:
        if self.network is None:
            return
        try:
            await self.network.detach(instance_id)
        except errors.ServiceError as exc:
            log.warning("releasing the network of %s: %s", instance_id, exc.message)

    async def _boot(self, req: LaunchRequest, launch: InstanceLaunch, node: str,
                    placed: LaunchedInstance) -> None:
        iid = launch.instance_id
        try:
            paths: dict[str, str] = {}
            formats: dict[str, str] = {}
            for image in req.images:
                got = await self._call(node, "node/images/fetch", ImageSource(
                    image.image_id, image.cache_key, image.manifest, image.part_urls,
                    image.sealed[node], image.size, image.etag), FetchedImage, timeout=600)
                paths[image.role], formats[image.role] = got.path, got.format
            nic = None
            att = self.network.attachment_of(iid) if placed.mac else None
            if att is not None:
                nic = NicSpec(att.netns, att.bridge, att.mac, vlan=att.vlan)
            msg = RunInstance(iid, vcpus=req.vcpus, memory_mib=req.memory_mib,
                              disk_gib=req.disk_gib, kernel=paths.get("kernel", ""),
                              ramdisk=paths.get("ramdisk", ""), cmdline=req.cmdline,
                              disk_image="" if "kernel" in paths else paths.get("disk", ""),
                              disk_format=formats.get("disk", "qcow2"), nic=nic,
                              reservation_id=req.reservation_id, owner_id=req.owner_id,
                              instance_type=req.instance_type,
                              root_volume=launch.root_volume)
            info = await self._call(node, "node/instances/run", msg, InstanceInfo, 120)
            self._update(node, info)
        except Exception as exc:  # the launch failed: say why, release what it held
            reason = exc.message if isinstance(exc, errors.ServiceError) else repr(exc)
            log.warning("launch of %s on %s failed: %s", iid, node, reason)
            self.views[iid] = InstanceView(iid, node, "terminated",
                                           reason=_server_reason(reason),
                                           reported_at=time.time())
            await self._release_network(iid)
        finally:
            await self.nodes.poll([node])       # its free figures now count this instance
            self.inflight.pop(iid, None)
            self.tasks.pop(iid, None)
        if iid in self.doomed:
            self.doomed.discard(iid)
            await self._terminate_one(iid)

    # -- state from the nodes -----------------------------------------------------------------
    def _update(self, node: str, info: InstanceInfo) -> None:
        old = self.views.get(info.instance_id)
        self.views[info.instance_id] = InstanceView(
            info.instance_id, node, info.state, info.reason, "up", time.time(),
            (old.private_ip if old else "") or (
                self.network.private_ip_of(info.instance_id) if self.network else ""))

    async def poll(self) -> None:
        """Refresh the views from every up node (see the module docstring)."""
        status = {n.address: n.state for n in self.nodes.snapshot()}

        async def one(address: str) -> None:
            asked = time.time()      # a view updated after this is newer than the answer
            try:
                listed = await self._call(address, "node/instances/describe", InstanceQuery(),
                                          InstanceList, 10)
            except errors.ServiceError as exc:
                log.info("describing instances of %s: %s", address, exc.message)
                return
            known = set()
            for info in listed.instances:
                known.add(info.instance_id)
                if info.instance_id not in self.tasks:
                    self._update(address, info)
            for view in list(self.views.values()):
                if (view.node == address and view.instance_id not in known
                        and view.instance_id not in self.tasks
                        and view.instance_id not in self.inflight   # placed, still attaching
                        and view.state != "terminated" and view.reported_at < asked):
                    view.state, view.reason = "terminated", (
                        "Server.InternalError: the node no longer knows the instance")
                    await self._release_network(view.instance_id)
        await asyncio.gather(*(one(a) for a, s in status.items() if s == "up"))
        horizon = time.time() - FORGET_TERMINATED_S
        for iid, view in list(self.views.items()):
            view.node_state = status.get(view.node, "unknown")
            if view.state == "terminated" and view.reported_at < horizon:
                del self.views[iid]

    def describe(self, instance_ids: list[str]) -> InstanceViews:
        wanted = instance_ids or list(self.views)
        return InstanceViews([self.views[i] for i in wanted if i in self.views])

    # -- operations on placed instances ------------------------------------------------------
    async def _terminate_one(self, iid: str) -> None:
        view = self.views[iid]
        if view.state == "terminated":
            await self._release_network(iid)
            return
        try:
            info = await self._call(view.node, "node/instances/terminate", InstanceRef(iid),
                                    InstanceInfo, 60)
            self._update(view.node, info)
        except errors.NotFound:
            view.state, view.reported_at = "terminated", time.time()
        if self.views[iid].state == "terminated":
            await self._release_network(iid)
            await self.nodes.poll([view.node])

    async def terminate(self, instance_ids: list[str]) -> InstanceViews:
        for iid in instance_ids:
            if iid not in self.views:
                continue
            if iid in self.tasks:
                self.doomed.add(iid)
                continue
            try:
                await self._terminate_one(iid)
            except errors.ServiceError as exc:
                log.warning("terminating %s: %s", iid, exc.message)
        return self.describe(instance_ids)

    async def reboot(self, instance_ids: list[str]) -> InstanceViews:
        for iid in instance_ids:
            view = self.views.get(iid)
            if view is None or view.state != "running":
                continue
            await self._call(view.node, "node/instances/reboot", InstanceRef(iid),
                             InstanceInfo, 60)
        return self.describe(instance_ids)

    async def console(self, instance_id: str) -> ConsoleOutput:
        view = self.views.get(instance_id)
        if view is None:
            raise errors.NotFound("InvalidInstanceID.NotFound",
                                  f"The instance ID '{instance_id}' does not exist")
        return await self._call(view.node, "node/instances/console", ConsoleQuery(instance_id),
                                ConsoleOutput, 30)

    # -- routes -------------------------------------------------------------------------------
    def add_routes(self, routes) -> None:
        async def keys(_msg: None, _caller: str) -> NodeKeys:
            return await self.keys()

        async def run(msg: LaunchRequest, _caller: str) -> LaunchReply:
            return await self.run(msg)

        async def describe(msg: InstanceIds, _caller: str) -> InstanceViews:
            return self.describe(msg.instance_ids)

        async def terminate(msg: InstanceIds, _caller: str) -> InstanceViews:
            return await self.terminate(msg.instance_ids)

        async def reboot(msg: InstanceIds, _caller: str) -> InstanceViews:
            return await self.reboot(msg.instance_ids)

        async def console(msg: InstanceIds, _caller: str) -> ConsoleOutput:
            if len(msg.instance_ids) != 1:
                raise errors.InvalidParameterValue("console takes exactly one instance id")
            return await self.console(msg.instance_ids[0])

        routes.add("POST", "cluster/nodes/keys", keys, callers=CALLERS)
        for name, handler in (("run", run), ("describe", describe), ("terminate", terminate),
                              ("reboot", reboot), ("console", console)):
            routes.add("POST", f"cluster/instances/{name}", handler,
                       LaunchRequest if name == "run" else InstanceIds, callers=CALLERS)

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        for client in self._clients.values():
            await client.close()


def _server_reason(message: str) -> str:
    return message if message.startswith(("Server.", "Client.")) else \
        f"Server.InternalError: {message}"
