"""The SQL store: SQLite (WAL) by default, PostgreSQL by URL, Alembic migrations.

- ``models``: the SQLAlchemy 2 typed tables (catalog, datasets, ...).
- ``engine``: ``Store`` opens a database, applies migrations, hands out sessions.
"""

from mlrun_kernel.store.engine import Store, default_store_url, open_store, sqlite_store_url
from mlrun_kernel.store.models import Base

__all__ = ["Base", "Store", "default_store_url", "open_store", "sqlite_store_url"]
