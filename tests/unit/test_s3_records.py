"""The object hot path's rows (services/s3/records.py) read and written without the ORM agree
with the ORM's view of the same rows."""
from __future__ import annotations

import datetime as dt

import pytest

from eucalyptus.db import all_tables  # noqa: F401  (every table on Base.metadata)
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.objects import Bucket, ObjectVersion
from eucalyptus.db.schema import AccessKey, Base, User
from eucalyptus.services.iam import identity
from eucalyptus.services.iam.access_keys import new_access_key
from eucalyptus.services.iam.accounts import create_account_row
from eucalyptus.services.s3 import records


@pytest.fixture()
def db(tmp_path):
    database = Database(sqlite_url(tmp_path / "r.db"), migrate=False)
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def _version(key: str, version_id: str = "null", **fields) -> ObjectVersion:
    values = dict(bucket="bkt", key=key, version_id=version_id, account_id="123456789012",
                  size=4, etag="e" * 32, blob="ab" * 16,
                  last_modified=dt.datetime(2024, 1, 2, 3, 4, 5))
    values.update(fields)
    return ObjectVersion(**values)


def test_credential_matches_the_identity_lookup(db):
    with db.session() as session:
        account = create_account_row(session, "reco")
        session.flush()
        root = session.query(User).filter_by(account_id=account.id).one()
        key_id = new_access_key(session, root).id
    with db.session() as session:
        ours = records.credential(session, key_id)
        theirs = identity.lookup_credentials(session, key_id)
        assert ours == theirs
        assert records.credential(session, "AKIDOESNOTEXIST") is None
        session.get(AccessKey, key_id).active = False
    with db.session() as session:
        assert records.credential(session, key_id).active is False


def test_bucket_and_versions_read_as_the_orm_does(db):
    with db.session() as session:
        session.add(Bucket(name="bkt", account_id="123456789012", versioning="Suspended"))
        session.flush()
        records.insert_version(session, _version("k"))
        records.insert_version(session, _version("k", "v2", is_latest=False, tags='{"a": "b"}'))
    with db.session() as session:
        bucket = records.bucket(session, "bkt")
        assert (bucket.name, bucket.account_id, bucket.versioning, bucket.acl) == \
            ("bkt", "123456789012", "Suspended", None)
        assert records.bucket(session, "none") is None
        latest = records.latest(session, "bkt", "k")
        orm = session.get(ObjectVersion, latest.seq)
        for name in records.VersionRecord.__slots__:
            assert getattr(latest, name) == getattr(orm, name), name
        assert latest.is_latest is True and latest.delete_marker is False
        assert latest.headers == "{}" and latest.storage_class == "STANDARD"   # defaults
        assert records.version(session, "bkt", "k", "v2").tags == '{"a": "b"}'
        with pytest.raises(AttributeError):
            latest.size = 5


def test_install_writes_retire_and_replace(db):
    with db.session() as session:
        session.add(Bucket(name="bkt", account_id="123456789012"))
        session.flush()
        records.insert_version(session, _version("k", blob="11" * 16))
    with db.session() as session:
        assert records.delete_null_versions(session, "bkt", "k", "null") == ["11" * 16]
        records.retire_latest(session, "bkt", "k")
        records.insert_version(session, _version("k", "v9", blob="22" * 16))
        records.retire_latest(session, "bkt", "k")
        assert records.latest(session, "bkt", "k") is None
        assert records.version(session, "bkt", "k", "v9").is_latest is False
        assert records.delete_null_versions(session, "bkt", "k", "null") == []
