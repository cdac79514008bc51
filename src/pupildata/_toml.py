"""Reading TOML files with errors a person can act on."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pupildata.errors import UsageError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse a TOML file; any problem becomes one sentence naming the file and what is wrong."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"The {what} {path} does not exist.") from None
    except PermissionError:
        raise UsageError(f"The {what} {path} cannot be read: permission denied.") from None
    except IsADirectoryError:
        raise UsageError(f"The {what} {path} is a directory, not a TOML file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"The {what} {path} is not valid TOML: {exc}.") from None
    except UnicodeDecodeError:
        raise UsageError(f"The {what} {path} is not UTF-8 text, as TOML requires.") from None


def describe_validation_error(exc: Any, what: str) -> str:
    """Turn the first pydantic validation error into one sentence naming the key and the rule."""
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    rule = first["msg"]
    if first["type"] == "extra_forbidden":
        return f"The {what} has an unknown key '{key}'."
    value = first.get("input")
    shown = "" if isinstance(value, dict | list) or value is None else f" {value!r}"
    return f"The {what} value{shown} for '{key}' is invalid: {rule[0].lower()}{rule[1:]}."
