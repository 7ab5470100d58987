"""Open the store, bring its schema to the newest migration, hand out sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from mlrun_kernel.config import settings

MIGRATIONS = Path(__file__).with_name("migrations")


SQLITE_FILE = "mlrun-kernel.sqlite"


def sqlite_store_url(data_dir: Path) -> str:
    """The embedded store: a SQLite file in ``data_dir`` (made if missing). The one place
    the default database URL is built; the CLI, the executor and the service use it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / SQLITE_FILE}"


def default_store_url() -> str:
    """``MLK_DATABASE_URL``, else the SQLite file in ``MLK_DATA_DIR``."""
    cfg = settings()
    return cfg.database_url or sqlite_store_url(cfg.data_dir)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; foreign keys are off by default
    # in SQLite; the busy timeout waits for the writer instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


class Store:
    """One database. ``session()`` commits on success and rolls back on error."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision``; data already stored is kept."""
        command.upgrade(_alembic_config(self.engine), revision)

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """The store at ``url`` (default: ``default_store_url()``), migrated to the newest schema."""
    store = Store(url or default_store_url())
    if migrate:
        store.upgrade()
    return store
