"""The ``pupildata serve`` command: the web portal and its JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from pupildata.cli import HomeOpt, err, out, settings_for


def register(app: typer.Typer) -> None:
    """Add the web portal's commands to the root command."""
    app.command()(serve)


def serve(
    home: HomeOpt = None,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The port to listen on.")] = 8000,
) -> None:
    """Serve the web portal and its JSON API until stopped with Ctrl+C."""
    from pupildata.web import assets, server

    settings = settings_for(home)
    server.check_port_free(host, port)
    if missing := assets.missing_assets():
        err.print(
            f"Warning: the GOV.UK Frontend files are not built ({', '.join(missing)} missing), so pages will "
            f"show without styles. To build them, {assets.BUILD_HINT}.",
            markup=False,
        )
    if not server.is_loopback(host):
        err.print(
            f"Warning: serving on {host} makes the portal reachable from other computers. It has no sign-in yet: "
            "serve it only on 127.0.0.1 unless it is behind a protected proxy.",
            markup=False,
        )
    out.print(f"Pupil data service at {server.url_for(host, port)} (data home {settings.home}). Ctrl+C stops it.")
    server.serve(settings, host=host, port=port)


__all__ = ["register", "serve"]
