"""Per-security-group networks: the cut of VNET_SUBNET, index choice, allocation per network."""
from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from eucalyptus import errors
from eucalyptus.cc.vnet.addresses import AddressBook, Allocation, Subnet
from eucalyptus.cc.vnet.networks import (LEGACY_INDEX, NetworkLayout, choose_index, group_key,
                                         indexes_in_use)


def test_layout_cuts_the_subnet_in_networks_of_addrspernet():
    layout = NetworkLayout.parse("10.77.0.0", "255.255.0.0", 32)
    assert (layout.count, layout.size, layout.prefixlen) == (2048, 32, 27)
    net = layout.network(2)
    assert (str(net.network), net.gateway, str(net.first), str(net.last)) == (
        "10.77.0.64/27", "10.77.0.65", "10.77.0.66", "10.77.0.94")
    assert str(layout.network(2047).network) == "10.77.255.224/27"
    assert layout.index_of("10.77.0.100") == 3 and layout.index_of("10.78.0.1") is None
    with pytest.raises(ValueError):
        layout.network(2048)
    # MANAGED: the index is the VLAN id, so no more than 4096 networks
    assert NetworkLayout.parse("10.0.0.0", "255.0.0.0", 16, vlans=True).count == 4096
    assert NetworkLayout.parse("10.0.0.0", "255.0.0.0", 16).count == 2 ** 20


@pytest.mark.parametrize("netmask,per_net,key", [
    ("255.255.0.0", 24, "VNET_ADDRSPERNET"),       # not a power of two
    ("255.255.0.0", 4, "VNET_ADDRSPERNET"),        # too small for a gateway and instances
    ("255.255.255.0", 128, "VNET_NETMASK"),        # only two networks, both reserved
])
def test_a_layout_that_does_not_fit_names_the_key(netmask, per_net, key):
    with pytest.raises(ValueError, match=key):
        NetworkLayout.parse("10.77.0.0", netmask, per_net)


def _alloc(iid: str, network: int, group: str) -> Allocation:
    return Allocation(iid, "", "d0:0d:00:00:00:01", "", network, group)


def test_groups_get_the_lowest_free_index_from_three_and_keep_it():
    layout = NetworkLayout.parse("10.77.0.0", "255.255.255.0", 32)     # 8 networks
    assert group_key([]) == "" and group_key(["sg-1", "sg-2"]) == "sg-1"
    assert choose_index(layout, "", []) == LEGACY_INDEX == 2
    held = [_alloc("i-00000001", 3, "sg-a"), _alloc("i-00000002", 5, "sg-c")]
    assert indexes_in_use(held) == {"sg-a": 3, "sg-c": 5}
    assert choose_index(layout, "sg-a", held) == 3          # the group's own network
    assert choose_index(layout, "sg-b", held) == 4          # lowest free
    full = [_alloc(f"i-0000001{n}", n, f"sg-{n}") for n in range(3, 8)]
    with pytest.raises(errors.ServiceError) as exc:
        choose_index(layout, "sg-new", full)
    assert exc.value.code == "InsufficientFreeAddressesInSubnet"
    assert choose_index(layout, "", full) == 2              # the legacy network stays


def test_allocation_per_network_is_persistent_and_separate(tmp_path):
    layout = NetworkLayout.parse("10.66.0.0", "255.255.255.0", 16)
    book = AddressBook(Subnet.parse("10.66.0.0", "255.255.255.0"), tmp_path / "a.json")
    a = book.allocate("i-00000001", subnet=layout.network(3), network=3, group="sg-a")
    b = book.allocate("i-00000002", subnet=layout.network(4), network=4, group="sg-b")
    c = book.allocate("i-00000003", subnet=layout.network(3), network=3, group="sg-a")
    assert (a.private_ip, b.private_ip, c.private_ip) == ("10.66.0.50", "10.66.0.66",
                                                          "10.66.0.51")
    assert (a.network, a.group) == (3, "sg-a")
    again = AddressBook(book.subnet, tmp_path / "a.json")            # a CC restart
    assert again.all() == [a, c, b] and again.in_network(3) == [a, c]
    again.release("i-00000001")
    d = again.allocate("i-00000004", subnet=layout.network(3), network=3, group="sg-a")
    assert d.private_ip == "10.66.0.52"            # the cursor of network 3 was kept
    for n in range(5, 17):                         # 13 addresses per /28 network: fill it
        again.allocate(f"i-000000{n:02x}", subnet=layout.network(4), network=4)
    with pytest.raises(errors.ServiceError, match="10.66.0.64/28"):
        again.allocate("i-000000ff", subnet=layout.network(4), network=4)


def test_static_pairs_and_addressless_allocations(tmp_path):
    book = AddressBook(Subnet.parse("10.66.0.0", "255.255.255.0"), tmp_path / "a.json")
    pairs = (("d0:0d:00:00:aa:02", "10.66.0.20"), ("d0:0d:00:00:aa:01", "10.66.0.10"))
    one = book.allocate("i-00000001", fixed=pairs)
    two = book.allocate("i-00000002", fixed=pairs)
    assert (one.mac, one.private_ip, two.mac, two.private_ip) == (
        "d0:0d:00:00:aa:01", "10.66.0.10", "d0:0d:00:00:aa:02", "10.66.0.20")
    with pytest.raises(errors.ServiceError, match="VNET_MACMAP"):
        book.allocate("i-00000003", fixed=pairs)
    book.release("i-00000001")
    assert book.allocate("i-00000003", fixed=pairs).mac == "d0:0d:00:00:aa:01"
    sys_book = AddressBook(book.subnet, tmp_path / "s.json")
    blank = sys_book.allocate("i-00000009", addressless=True)
    assert blank.private_ip == "" and blank.mac.startswith("d0:0d:")
    learned = sys_book.set_address("i-00000009", "192.0.2.7")
    assert learned.private_ip == "192.0.2.7" and learned.hostname == "euca-192-0-2-7"
    other = sys_book.allocate("i-0000000a", addressless=True)
    with pytest.raises(errors.InvalidParameterValue, match="held by"):
        sys_book.set_address(other.instance_id, "192.0.2.7")
    assert sys_book.by_mac(blank.mac).instance_id == "i-00000009"
    assert sys_book.set_address("i-0000000b", "192.0.2.8") is None


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 15), st.integers(0, 3)), max_size=50))
def test_no_address_is_held_twice_and_each_stays_in_its_groups_network(tmp_path_factory,
                                                                      steps):
    layout = NetworkLayout.parse("10.5.0.0", "255.255.255.128", 16)    # networks 3..7
    book = AddressBook(Subnet.parse("10.5.0.0", "255.255.255.128"),
                       tmp_path_factory.mktemp("b") / "a.json")
    for allocate, n, g in steps:
        iid, group = f"i-{n:08x}", ["", "sg-a", "sg-b", "sg-c"][g]
        if allocate and book.get(iid) is None:
            index = choose_index(layout, group, book.all())
            try:
                book.allocate(iid, subnet=layout.network(index), network=index, group=group)
            except errors.ServiceError:
                pass                                   # that network is full: fine
        elif not allocate:
            book.release(iid)
        ips = [a.private_ip for a in book.all()]
        assert len(set(ips)) == len(ips)
        by_group = indexes_in_use(book.all())
        assert len(set(by_group.values())) == len(by_group)        # one network per group
        for a in book.all():
            net = layout.network(a.network)
            assert ipaddress.IPv4Address(a.private_ip) in net.network
            assert a.private_ip != net.gateway
            assert (a.network == 2) == (a.group == "")
