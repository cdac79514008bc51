"""The registry: SQLAlchemy 2 over SQLite (default) or PostgreSQL, with its schema kept by Alembic migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pupildata.errors import UsageError
from pupildata.kernel.registry.models import AuditEvent, AuditHead, Base, LinkDecision, LinkReview, Run

__all__ = ["HEAD", "AuditEvent", "AuditHead", "Base", "LinkDecision", "LinkReview", "Registry", "Run"]

#: The newest migration (a test holds it to the migrations' own head): a registry already there needs no
#: migration run, which would load every migration script (some hundredths of a second per command).
HEAD = "0007"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Registry:
    """A registry database: create it, bring its schema up to date, and open sessions on it."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def alembic_config(self) -> Config:
        config = Config()
        location = resources.files("pupildata.kernel.registry") / "migrations"
        config.set_main_option("script_location", str(location))
        config.set_main_option("path_separator", "os")
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema up to date (creating it on first use)."""
        if revision == "head" and self.revision() == HEAD:
            return
        config = self.alembic_config()
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except OperationalError as exc:
            raise UsageError(f"The registry at {self.safe_url} cannot be opened: {exc.orig}.") from None

    def revision(self) -> str | None:
        """The migration the schema is at (None for a new registry, or one that cannot be read yet)."""
        try:
            with self.engine.connect() as connection:
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed if the block succeeds, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
