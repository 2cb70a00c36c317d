"""Private address and MAC allocation: order, reuse, persistence, exhaustion."""
from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from eucalyptus import errors
from eucalyptus.cc.vnet.addresses import (AddressBook, Subnet, default_hostname, make_mac)


def test_subnet_shape():
    net = Subnet.parse("10.77.0.0", "255.255.0.0")
    assert (net.gateway, net.gateway_cidr, net.netmask) == (
        "10.77.0.1", "10.77.0.1/16", "255.255.0.0")
    assert (str(net.first), str(net.last), net.size) == ("10.77.0.2", "10.77.255.254", 65533)
    assert Subnet.parse("192.168.5.77", "255.255.255.0").gateway == "192.168.5.1"  # host bits
    with pytest.raises(ValueError, match="too small"):
        Subnet.parse("10.0.0.0", "255.255.255.252")


def test_allocation_is_idempotent_round_robin_and_persistent(tmp_path):
    subnet = Subnet.parse("10.9.0.0", "255.255.255.248")        # .2 .. .6: 5 addresses
    book = AddressBook(subnet, tmp_path / "a.json")
    one = book.allocate("i-00000001")
    assert (one.private_ip, one.mac, one.hostname) == (
        "10.9.0.2", "d0:0d:00:00:00:01", "euca-10-9-0-2")
    assert book.allocate("i-00000001") == one                      # same answer again
    two = book.allocate("i-00000002", hostname="web1")
    assert (two.private_ip, two.hostname) == ("10.9.0.3", "web1")
    assert book.release("i-00000001") == one and book.release("i-00000001") is None
    three = book.allocate("i-00000003")
    assert three.private_ip == "10.9.0.4"                          # freed .2 is not reused yet
    # a new book on the same file (a CC restart) sees the same allocations and cursor
    again = AddressBook(subnet, tmp_path / "a.json")
    assert again.all() == [two, three] and again.by_ip("10.9.0.4") == three
    assert [again.allocate(f"i-0000000{n}").private_ip for n in (4, 5, 6)] == [
        "10.9.0.5", "10.9.0.6", "10.9.0.2"]                        # wraps round to .2
    with pytest.raises(errors.ServiceError) as exc:
        again.allocate("i-00000007")
    assert exc.value.code == "InsufficientFreeAddressesInSubnet"
    assert {a.private_ip for a in again.all()} == {f"10.9.0.{n}" for n in range(2, 7)}


def test_bad_input_is_a_client_error(tmp_path):
    book = AddressBook(Subnet.parse("10.9.0.0", "255.255.255.0"), tmp_path / "a.json")
    for bad in ("x-1", "i-XYZ", "", "i-123"):
        with pytest.raises(errors.InvalidParameterValue):
            book.allocate(bad)
    with pytest.raises(errors.InvalidParameterValue, match="host name"):
        book.allocate("i-00000001", hostname="has space")
    assert book.all() == [] and not (tmp_path / "a.json").exists()


def test_mac_addresses_follow_eucalyptus_and_never_clash():
    assert make_mac("i-1a2b3c4d", set()) == "d0:0d:1a:2b:3c:4d"
    long_id = "i-0123456789abcdef0"
    mac = make_mac(long_id, set())
    assert mac.startswith("d0:0d:") and mac == make_mac(long_id, set())
    other = make_mac("i-1a2b3c4d", {"d0:0d:1a:2b:3c:4d"})
    assert other != "d0:0d:1a:2b:3c:4d" and other.startswith("d0:0d:")
    assert default_hostname("10.1.2.3") == "euca-10-1-2-3"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 11)), max_size=60))
def test_no_address_or_mac_is_ever_held_twice(tmp_path_factory, steps):
    subnet = Subnet.parse("10.5.0.0", "255.255.255.240")        # 13 addresses
    book = AddressBook(subnet, tmp_path_factory.mktemp("book") / "a.json")
    for allocate, n in steps:
        iid = f"i-{n:08x}"
        if allocate:
            book.allocate(iid)
        else:
            book.release(iid)
        ips = [a.private_ip for a in book.all()]
        macs = [a.mac for a in book.all()]
        assert len(set(ips)) == len(ips) and len(set(macs)) == len(macs)
        assert all(ipaddress.IPv4Address(ip) in subnet.network for ip in ips)
        assert subnet.gateway not in ips
