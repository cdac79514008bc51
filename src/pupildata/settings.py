"""One settings object for the whole service.

Values come, strongest first, from: command-line options (``--home``), environment variables ``PUPILDATA_*``,
an optional TOML settings file (``PUPILDATA_SETTINGS_FILE``, else ``settings.toml`` in the data home), and the
defaults below. Paths that are not given derive from the data home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pupildata._toml import describe_validation_error, read_toml
from pupildata.errors import UsageError

ENV_PREFIX = "PUPILDATA_"
DEFAULT_HOME = Path("pupildata-home")
SETTINGS_FILE_NAME = "settings.toml"


class Settings(BaseModel):
    """What the service needs to know about where things are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(DEFAULT_HOME, description="The data home: warehouse, registry, archive, keys, outputs.")
    registry_url: str | None = Field(
        None, description="SQLAlchemy URL of the registry database (default: a SQLite file in the home)."
    )
    warehouse_path: Path | None = Field(None, description="The DuckDB warehouse file (default: in the home).")
    policy_file: Path | None = Field(
        None, description="The policy file (TOML). Default: policy.toml in the home if present, else built-in."
    )
    warehouse_threads: int | None = Field(None, ge=1, description="Threads DuckDB may use (default: all cores).")
    warehouse_memory_limit: str | None = Field(None, description="DuckDB memory limit, e.g. '8GB'.")
    secret_key_file: Path | None = Field(None, description="File holding the portal's session secret.")
    portal_max_upload_mb: int = Field(
        100, ge=1, description="The largest file (in MB) a sender may send in the portal; a larger one is refused."
    )

    @field_validator("registry_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("the registry must be SQLite (sqlite:///...) or PostgreSQL (postgresql+psycopg://...)")
        return value

    @property
    def registry(self) -> str:
        if self.registry_url:
            return self.registry_url
        return f"sqlite:///{(self.home / 'registry.sqlite').resolve()}"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_path or self.home / "warehouse.duckdb"

    @property
    def policy_path(self) -> Path | None:
        if self.policy_file is not None:
            return self.policy_file
        candidate = self.home / "policy.toml"
        return candidate if candidate.exists() else None

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def outputs_dir(self) -> Path:
        return self.home / "outputs"

    @property
    def incoming_dir(self) -> Path:
        """Where a file sent in the portal is written while it is received and collected (owner-only)."""
        return self.home / "incoming"


_FIELDS = tuple(Settings.model_fields)


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _FIELDS:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw not in (None, ""):
            values[name] = raw
    return values


def load_settings(home: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Build the settings from options, environment and the optional settings file."""
    env = dict(os.environ if environ is None else environ)
    from_env = _from_env(env)
    chosen_home = home or (Path(from_env["home"]) if "home" in from_env else DEFAULT_HOME)

    file_values: dict[str, Any] = {}
    explicit = env.get(ENV_PREFIX + "SETTINGS_FILE")
    settings_file = Path(explicit) if explicit else chosen_home / SETTINGS_FILE_NAME
    if explicit or settings_file.is_file():
        file_values = read_toml(settings_file, "settings file")
        if not isinstance(file_values, dict):  # pragma: no cover - tomllib always gives a table
            raise UsageError(f"The settings file {settings_file} must be a TOML table.")

    merged: dict[str, Any] = {**file_values, **from_env}
    if home is not None:
        merged["home"] = home
    merged.setdefault("home", chosen_home)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc, "settings")) from None


@dataclass(frozen=True)
class Home:
    """The data home, created on first use with owner-only permissions."""

    settings: Settings

    def ensure(self) -> Path:
        path = self.settings.home
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            probe = path / ".write-check"
            probe.write_text("ok", encoding="utf-8")
            probe.unlink()
        except FileExistsError:
            raise UsageError(f"The data home {path} is a file, not a directory.") from None
        except NotADirectoryError:
            raise UsageError(f"The data home {path} cannot be created: part of its path is a file.") from None
        except PermissionError:
            raise UsageError(f"The data home {path} cannot be written: permission denied.") from None
        except OSError as exc:
            raise UsageError(f"The data home {path} cannot be written: {exc.strerror or exc}.") from None
        return path
