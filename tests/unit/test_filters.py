"""The Describe* filter engine: paths, callables, wildcards, tags, AND/OR and errors."""
import pytest

from eucalyptus.aws import filters
from eucalyptus.aws.filters import TAG_FILTERS, apply, validate
from eucalyptus.errors import InvalidParameterValue, MissingParameter

ITEMS = [
    {"Id": "a-1", "State": {"Name": "running"}, "Size": 8, "Public": True,
     "Disks": [{"Type": "ssd", "Count": 1}, {"Type": "hdd", "Count": 2}],
     "Archs": ["i386", "x86_64"],
     "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "prod"}]},
    {"Id": "a-2", "State": {"Name": "stopped"}, "Size": 16, "Public": False,
     "Disks": [{"Type": "hdd", "Count": 1}], "Archs": ["x86_64"],
     "Tags": [{"Key": "Name", "Value": "db*1"}]},
    {"Id": "b-3", "State": {"Name": "running"}, "Size": 8, "Public": False, "Disks": [],
     "Archs": []},
]

TABLE = {
    "id": "Id",
    "state": "State.Name",
    "size": "Size",
    "public": "Public",
    "disk.type": "Disks.Type",
    "disk.count": "Disks.Count",
    "arch": "Archs",
    "missing": "No.Such.Path",
    "id-prefix": lambda item: item["Id"].split("-")[0],
    **TAG_FILTERS,
}


def ids(filter_list):
    return [i["Id"] for i in apply(ITEMS, filter_list, TABLE)]


def f(name, *values):
    return {"Name": name, "Values": list(values)}


@pytest.mark.parametrize("filter_list, expected", [
    (None, ["a-1", "a-2", "b-3"]),
    ([], ["a-1", "a-2", "b-3"]),
    ([f("id", "a-1")], ["a-1"]),
    ([f("state", "running")], ["a-1", "b-3"]),
    ([f("state", "stopped", "running")], ["a-1", "a-2", "b-3"]),          # OR within a filter
    ([f("state", "running"), f("size", "8"), f("id", "b-3")], ["b-3"]),    # AND across filters
    ([f("state", "running"), f("id", "a-2")], []),
    ([f("size", "16")], ["a-2"]),                                         # numbers as text
    ([f("public", "true")], ["a-1"]),                                     # booleans lower case
    ([f("public", "false")], ["a-2", "b-3"]),
    ([f("public", "True")], []),                                          # case-sensitive
    ([f("disk.type", "ssd")], ["a-1"]),                                   # lists fan out
    ([f("disk.type", "hdd")], ["a-1", "a-2"]),
    ([f("disk.count", "2")], ["a-1"]),
    ([f("arch", "i386")], ["a-1"]),
    ([f("missing", "*")], []),                                            # absent value: no match
    ([f("id-prefix", "b")], ["b-3"]),                                     # callable reader
    ([f("id", "a-*")], ["a-1", "a-2"]),                                   # wildcards
    ([f("id", "?-?")], ["a-1", "a-2", "b-3"]),
    ([f("id", "?-")], []),                                                # anchored
    ([f("id", "*2")], ["a-2"]),
    ([f("state", "run*ing")], ["a-1", "b-3"]),
    ([f("id", "a.1")], []),                                               # regex chars literal
    ([f("id")], []),                                                      # no values: nothing
    ([f("tag:Name", "web")], ["a-1"]),
    ([f("tag:Name", "web", "db*")], ["a-1", "a-2"]),
    ([f("tag:Name", "db\\*1")], ["a-2"]),                                 # escaped wildcard
    ([f("tag:Name", "db\\*")], []),
    ([f("tag:env", "*")], ["a-1"]),
    ([f("tag:nope", "*")], []),
    ([f("tag-key", "env")], ["a-1"]),
    ([f("tag-key", "Name")], ["a-1", "a-2"]),
    ([f("tag-value", "prod", "db*")], ["a-1", "a-2"]),
    ([f("tag-key", "Name"), f("tag:env", "prod")], ["a-1"]),
])
def test_apply(filter_list, expected):
    assert ids(filter_list) == expected


def test_values_may_be_a_single_string():
    assert ids([{"Name": "id", "Values": "a-1"}]) == ["a-1"]


def test_apply_keeps_order_and_returns_a_new_list():
    out = apply(ITEMS, None, TABLE)
    assert out == ITEMS and out is not ITEMS


@pytest.mark.parametrize("name", ["nope", "tag:", "tag", "state.name", "Id", "id-prefix:x",
                                  "tag-keys"])
def test_unknown_filter_is_invalid_parameter_value(name):
    with pytest.raises(InvalidParameterValue) as err:
        apply(ITEMS, [f("id", "a-1"), f(name, "x")], TABLE)
    assert err.value.code == "InvalidParameterValue"
    assert err.value.message == f"The filter '{name}' is invalid"
    assert err.value.status == 400


def test_unknown_filter_is_refused_even_without_items():
    with pytest.raises(InvalidParameterValue):
        apply([], [f("bogus", "x")], TABLE)
    with pytest.raises(InvalidParameterValue):
        validate([f("bogus", "x")], TABLE)
    validate([f("id", "x")], TABLE)


def test_tag_filters_need_the_table_to_offer_them():
    with pytest.raises(InvalidParameterValue):
        apply(ITEMS, [f("tag:Name", "web")], {"id": "Id"})


@pytest.mark.parametrize("bad", [{"Values": ["x"]}, {"Name": "", "Values": ["x"]}, "id"])
def test_filter_without_a_name_is_missing_parameter(bad):
    with pytest.raises(MissingParameter):
        apply(ITEMS, [bad], TABLE)


def test_items_without_tags_never_match_tag_filters():
    assert apply([{"Id": "x"}], [f("tag-key", "*")], TABLE) == []
    assert apply([{"Id": "x", "Tags": None}], [f("tag-value", "*")], TABLE) == []


def test_values_of_reads_paths_and_callables():
    assert filters.values_of(ITEMS[0], "Disks.Type") == ["ssd", "hdd"]
    assert filters.values_of(ITEMS[0], "Public") == ["true"]
    assert filters.values_of(ITEMS[0], lambda item: [1, [2, None]]) == ["1", "2"]


from hypothesis import given, strategies as st  # noqa: E402

PLAIN = st.text().filter(lambda s: not set(s) & set("*?\\"))


@given(value=PLAIN, other=PLAIN)
def test_plain_values_match_only_themselves(value, other):
    item = {"Id": value}
    assert apply([item], [f("id", value)], TABLE) == [item]
    assert apply([item], [f("id", "*")], TABLE) == [item]
    assert bool(apply([item], [f("id", other)], TABLE)) == (value == other)
    assert bool(apply([item], [f("id", "?" * len(value))], TABLE))
