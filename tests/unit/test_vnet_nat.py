"""1:1 NAT of public addresses (eucalyptus.cc.vnet.nat): rendering and the public interface."""
from __future__ import annotations

from eucalyptus.cc.vnet import nat

P = "ip euca_nat"


class AddressRecorder:
    """The few backend calls PublicInterface makes, on an in-memory interface."""

    def __init__(self, links=None):
        self.links: dict[str, list[str]] = links if links is not None else {}
        self.calls: list[tuple] = []

    def link_names(self, ns):
        return list(self.links)

    def ensure_bridge(self, ns, name, address=""):
        self.calls.append(("ensure_bridge", ns, name, address))
        self.links.setdefault(name, []).append(address)

    def addresses_of(self, ns, dev):
        return list(self.links.get(dev, []))

    def add_address(self, ns, dev, address):
        self.calls.append(("add", dev, address))
        self.links[dev].append(address)

    def remove_address(self, ns, dev, address):
        self.calls.append(("remove", dev, address))
        self.links[dev].remove(address)


def test_full_render_maps_both_ways_and_masquerades_the_rest():
    table = nat.build("eucapub0", ["10.77.0.0/16"], {"10.88.0.51": "10.77.0.3",
                                                     "10.88.0.50": "10.77.0.2"})
    lines = nat.render_full(table).splitlines()
    assert lines[:3] == [f"add table {P}", f"delete table {P}", f"add table {P}"]
    assert f"add element {P} dnat_of {{ 10.88.0.50 : 10.77.0.2, 10.88.0.51 : 10.77.0.3 }}" in lines
    assert f"add element {P} snat_of {{ 10.77.0.2 : 10.88.0.50, 10.77.0.3 : 10.88.0.51 }}" in lines
    assert f"add rule {P} prerouting dnat to ip daddr map @dnat_of" in lines
    assert f"add rule {P} output dnat to ip daddr map @dnat_of" in lines
    assert f'add rule {P} postrouting oifname "eucapub0" snat to ip saddr map @snat_of' in lines
    assert (f'add rule {P} postrouting oifname "eucapub0" ip saddr {{ 10.77.0.0/16 }} masquerade'
            in lines)
    assert any("type nat hook output priority -100" in line for line in lines)


def test_two_public_addresses_of_one_instance_reach_it_and_the_lowest_is_its_source():
    table = nat.build("eucapub0", [], {"10.88.0.60": "10.77.0.2", "10.88.0.55": "10.77.0.2"})
    assert table.dnat == {"10.88.0.60": "10.77.0.2", "10.88.0.55": "10.77.0.2"}
    assert table.snat == {"10.77.0.2": "10.88.0.55"}
    assert "masquerade" not in nat.render_full(table)


def test_moving_an_address_is_one_transaction_of_element_swaps():
    old = nat.build("eucapub0", ["10.77.0.0/16"], {"10.88.0.50": "10.77.0.2"})
    new = nat.build("eucapub0", ["10.77.0.0/16"], {"10.88.0.50": "10.77.0.3"})
    assert nat.render_changes(old, new).splitlines() == [
        f"delete element {P} dnat_of {{ 10.88.0.50 }}",
        f"add element {P} dnat_of {{ 10.88.0.50 : 10.77.0.3 }}",
        f"delete element {P} snat_of {{ 10.77.0.2 }}",
        f"add element {P} snat_of {{ 10.77.0.3 : 10.88.0.50 }}"]
    assert nat.render_changes(new, new) == ""
    gone = nat.build("eucapub0", ["10.77.0.0/16"], {})
    assert nat.render_changes(new, gone).splitlines() == [
        f"delete element {P} dnat_of {{ 10.88.0.50 }}",
        f"delete element {P} snat_of {{ 10.77.0.3 }}"]


def test_a_new_interface_needs_the_whole_table():
    old = nat.build("eucapub0", [], {})
    assert nat.render_changes(old, nat.build("pub1", [], {})) is None


def test_public_interface_is_made_only_when_missing():
    made = AddressRecorder()
    nat.PublicInterface(made, "ns1", "eucapub0", "10.88.0.1/24").ensure()
    assert made.calls == [("ensure_bridge", "ns1", "eucapub0", "10.88.0.1/24")]
    existing = AddressRecorder({"eth1": ["192.0.2.10/24"]})
    nat.PublicInterface(existing, "ns1", "eth1", "10.88.0.1/24").ensure()
    assert existing.calls == []


def test_publish_adds_and_removes_only_managed_host_addresses():
    rec = AddressRecorder({"eucapub0": ["10.88.0.1/24", "10.88.0.50/32", "10.88.0.99/32",
                                        "192.0.2.7/32"]})
    pub = nat.PublicInterface(rec, "ns1", "eucapub0", "10.88.0.1/24")
    pub.publish({"10.88.0.51"}, managed={"10.88.0.50", "10.88.0.99"})
    assert rec.links["eucapub0"] == ["10.88.0.1/24", "192.0.2.7/32", "10.88.0.51/32"]
    pub.publish({"10.88.0.51"}, managed={"10.88.0.51"})
    assert rec.calls[-1] == ("add", "eucapub0", "10.88.0.51/32") and len(rec.calls) == 3
