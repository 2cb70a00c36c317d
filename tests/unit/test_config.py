"""Settings from eucalyptus.conf and EUCA_* variables: types, defaults, errors naming keys."""
from pathlib import Path

import pytest

from eucalyptus import config
from eucalyptus.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "eucalyptus.conf").write_text(text)
    return tmp_path


def test_defaults_without_a_file(tmp_path):
    s = load_settings(tmp_path, env={})
    assert (s.clc_port, s.cc_port, s.nc_port, s.sc_port, s.walrus_port) == (
        8773, 8774, 8775, 8776, 8777)
    assert s.region == "eucalyptus" and s.zone == "eucalyptus-1a"
    assert s.database_url == f"sqlite:///{tmp_path.resolve()}/db/eucalyptus.sqlite"
    assert s.instance_path == tmp_path.resolve() / "instances"
    assert s.schedpolicy == "ROUNDROBIN" and s.hypervisor == "auto"
    assert s.nodes == ()
    assert s.sources["CLC_PORT"] == "default"


def test_file_values_quotes_comments_and_types(tmp_path):
    write(tmp_path, '# a comment\n\nCLC_PORT="9000"\nexport CC_PORT=9001  # trailing\n'
                    "REGION='west'\nNODES=\"10.0.0.2 10.0.0.3:9999\"\nSCHEDPOLICY=greedy\n"
                    'VNET_PUBLICIPS="10.1.0.5-10.1.0.9, 10.1.0.20"\nMAX_CORES=4\n')
    s = load_settings(tmp_path, env={})
    assert s.clc_port == 9000 and s.cc_port == 9001 and s.region == "west"
    assert s.nodes == ("10.0.0.2", "10.0.0.3:9999")
    assert s.schedpolicy == "GREEDY"
    assert s.vnet_publicips == ("10.1.0.5-10.1.0.9", "10.1.0.20")
    assert s.max_cores == 4
    assert s.sources["CLC_PORT"].endswith("eucalyptus.conf:3")
    assert s.url("clc") == "http://127.0.0.1:9000"
    assert s.service_urls()["ec2"] == "http://127.0.0.1:9000/services/compute"
    assert s.service_urls()["s3"] == "http://127.0.0.1:8777/services/objectstorage"


def test_unknown_key_names_key_file_and_line(tmp_path):
    write(tmp_path, 'CLC_PORT="9000"\n\nNO_SUCH_KEY="1"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path, env={})
    assert "NO_SUCH_KEY" in str(e.value) and "eucalyptus.conf:3" in str(e.value)


@pytest.mark.parametrize("line, key", [
    ('CLC_PORT="http"', "CLC_PORT"), ("CC_PORT=70000", "CC_PORT"),
    ("SCHEDPOLICY=FASTEST", "SCHEDPOLICY"), ("HYPERVISOR=xen", "HYPERVISOR"),
    ("VNET_SUBNET=10.1.2", "VNET_SUBNET"), ("VNET_NETMASK=255.0.255.0", "VNET_NETMASK"),
    ("VNET_PUBLICIPS=10.0.0.9-10.0.0.1", "VNET_PUBLICIPS"), ("MAX_MEM=-1", "MAX_MEM"),
    ("DATABASE_URL=mysql://x", "DATABASE_URL"), ("REGION=Bad_Name", "REGION"),
    ("NODES=host:notaport", "NODES"), ('LOGLEVEL="loud"', "LOGLEVEL"),
    ('REGION="unterminated', "REGION"),
])
def test_bad_value_names_key_and_line(tmp_path, line, key):
    write(tmp_path, f"# first\n{line}\n")
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path, env={})
    assert key in str(e.value) and "eucalyptus.conf:2" in str(e.value)


def test_malformed_line(tmp_path):
    write(tmp_path, "just words\n")
    with pytest.raises(ConfigError, match="eucalyptus.conf:1"):
        load_settings(tmp_path, env={})


def test_environment_overrides_file(tmp_path):
    write(tmp_path, 'CLC_PORT="9000"\nREGION="west"\n')
    s = load_settings(tmp_path, env={"EUCA_CLC_PORT": "9100",
                                     "EUCA_DATABASE_URL": "postgresql://u@127.0.0.1:5/db",
                                     "EUCA_UNRELATED": "ignored"})
    assert s.clc_port == 9100 and s.region == "west"
    assert s.database_url == "postgresql://u@127.0.0.1:5/db"
    assert s.sources["CLC_PORT"] == "environment variable EUCA_CLC_PORT"


def test_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="EUCA_SCHEDPOLICY.*SCHEDPOLICY"):
        load_settings(tmp_path, env={"EUCA_SCHEDPOLICY": "FAST"})


def test_port_base_and_duplicate_ports(tmp_path):
    s = load_settings(tmp_path, env={}, overrides=config.ports_from_base(20000))
    assert {c: s.port(c) for c in config.COMPONENTS} == {
        "clc": 20000, "cc": 20001, "nc": 20002, "sc": 20003, "walrus": 20004}
    with pytest.raises(ConfigError, match="port-base"):
        config.ports_from_base(65533)
    write(tmp_path, "CC_PORT=8773\n")
    with pytest.raises(ConfigError, match="must differ"):
        load_settings(tmp_path, env={})


def test_update_conf_keeps_other_lines(tmp_path):
    conf = write(tmp_path, '# keep me\nREGION="west"\n#CLC_PORT="1"\n') / "eucalyptus.conf"
    config.update_conf(conf, {"CLC_PORT": "9000", "REGION": "east"})
    assert conf.read_text() == '# keep me\nREGION="east"\n#CLC_PORT="1"\nCLC_PORT="9000"\n'
    assert load_settings(tmp_path, env={}).clc_port == 9000


def test_example_documents_every_key_and_is_valid(tmp_path):
    text = config.example_text()
    for key in config.KEYS.values():
        assert f'#{key.name}="{key.default}"' in text
        assert key.description in text
    uncommented = "\n".join(line[1:] if line.startswith("#") and "=" in line
                            and line[1:2].isupper() else line for line in text.splitlines())
    write(tmp_path, uncommented)
    assert load_settings(tmp_path, env={}).clc_port == 8773


def test_repository_example_is_generated_from_the_registry():
    assert (REPO / "eucalyptus.conf.example").read_text() == config.example_text()
