"""The context of a command or a web request: settings, policy and the stores, opened once and on demand."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from sqlalchemy import text

from pupildata.kernel.audit import AuditTrail
from pupildata.kernel.engine import DuckDBEngine, open_warehouse
from pupildata.kernel.pseudonyms import KeyStore
from pupildata.kernel.registry import Registry
from pupildata.kernel.runs import Runs
from pupildata.policy import Policy, load_policy
from pupildata.settings import Home, Settings


class Context:
    """Everything a step needs. Creating it makes the data home; the stores open the first time they are used."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        Home(settings).ensure()

    @cached_property
    def policy(self) -> Policy:
        return load_policy(self.settings.policy_path)

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self.settings.keys_dir)

    @cached_property
    def registry(self) -> Registry:
        registry = Registry(self.settings.registry)
        registry.upgrade()
        return registry

    @cached_property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.registry, self.keys)

    @cached_property
    def runs(self) -> Runs:
        return Runs(self.registry)

    @cached_property
    def warehouse(self) -> DuckDBEngine:
        """The warehouse, with the reference tables every step may join to (installed on first use)."""
        from pupildata.kernel.reference.tables import REFERENCE_TABLES, install_reference_tables

        engine = open_warehouse(
            self.settings.warehouse,
            threads=self.settings.warehouse_threads,
            memory_limit=self.settings.warehouse_memory_limit,
        )
        if not all(engine.table_exists(name) for name in REFERENCE_TABLES):
            install_reference_tables(engine)
        return engine

    def close(self) -> None:
        if "warehouse" in self.__dict__:
            self.warehouse.close()
        if "registry" in self.__dict__:
            self.registry.dispose()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def health_checks(settings: Settings) -> dict[str, Callable[[], bool]]:
    """Checks of the stores for the portal's health endpoint: each returns True when that store is usable."""
    registry = Registry(settings.registry)

    def registry_ok() -> bool:
        with registry.engine.connect() as connection:
            return bool(connection.execute(text("SELECT count(*) FROM audit_head")).scalar_one() == 1)

    def warehouse_ok() -> bool:
        return settings.warehouse.is_file()

    return {"registry": registry_ok, "warehouse": warehouse_ok}
