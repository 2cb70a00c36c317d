"""Alembic environment: runs against the connection ``engine.upgrade`` hands over."""
from alembic import context

import eucalyptus.db.all_tables  # noqa: F401  (registers every table)
from eucalyptus.db.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
