"""The ``pupildata`` command. Each domain adds its own sub-commands here; the work lives in the domains."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pupildata import __version__
from pupildata.errors import PupilDataError, UsageError
from pupildata.settings import Settings, load_settings

app = typer.Typer(
    name="pupildata",
    help="The pupil data service: collect, match, publish, share and answer for pupil records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
#: Rich lays tables out for 80 columns when it writes to no terminal; a table sent to a file or to another program
#: is given this many instead (unless COLUMNS says), so that no value is cut or folded.
PIPED_WIDTH = 160

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="The data home (env PUPILDATA_HOME; default ./pupildata-home).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class _State:
    home: Path | None = None


def settings_for(home: Path | None) -> Settings:
    """The settings for a command: its own --home wins over the root's, which wins over the environment."""
    return load_settings(home or _State.home)


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _version(value: bool) -> None:
    if value:
        out.print(f"pupildata {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    home: HomeOpt = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """The pupil data service."""
    _State.home = home
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = PIPED_WIDTH


# --- validate ---------------------------------------------------------------------------------------------


class IdentifierKind(StrEnum):
    upn = "upn"
    uln = "uln"
    urn = "urn"
    laestab = "laestab"
    postcode = "postcode"


@app.command()
def validate(
    kind: Annotated[IdentifierKind, typer.Argument(help="Which identifier: upn, uln, urn, laestab or postcode.")],
    values: Annotated[list[str], typer.Argument(help="One or more values to check.", show_default=False)],
    json_out: JsonOpt = False,
) -> None:
    """Check identifiers: one line per value, valid or the reason it is not. Exit 1 if any is invalid."""
    from pupildata.kernel import identifiers as ids

    checker = {
        IdentifierKind.upn: ids.check_upn,
        IdentifierKind.uln: ids.check_uln,
        IdentifierKind.urn: ids.check_urn,
        IdentifierKind.laestab: ids.check_laestab,
        IdentifierKind.postcode: ids.check_postcode,
    }[kind]
    checks = [checker(value) for value in values]
    if json_out:
        emit_json(
            [{"value": c.value, "valid": c.valid, "reason": c.reason or None, "temporary": c.temporary} for c in checks]
        )
    else:
        for check in checks:
            out.print(check.describe(), markup=False)
    if not all(check.valid for check in checks):
        raise typer.Exit(1)


def _register_domains() -> None:
    """Domains add their commands, in pipeline order; imported late so that `pupildata validate` stays quick."""
    from pupildata.collect import cli as collect_cli
    from pupildata.kernel import cli as kernel_cli
    from pupildata.link import cli as link_cli
    from pupildata.publish import cli as publish_cli
    from pupildata.synth import cli as synth_cli
    from pupildata.web import cli as web_cli

    kernel_cli.register(app)
    synth_cli.register(app)
    collect_cli.register(app)
    link_cli.register(app)
    publish_cli.register(app)
    web_cli.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and an exit code, never a traceback."""
    _register_domains()
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except PupilDataError as exc:
        err.print(f"Error: {exc.message}", markup=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("Stopped.")
        return 130
    return 0


def run() -> None:  # pragma: no cover - the console script
    sys.exit(main())


__all__ = ["HomeOpt", "JsonOpt", "UsageError", "app", "emit_json", "err", "main", "out", "settings_for"]
