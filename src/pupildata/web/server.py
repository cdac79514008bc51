"""Run the portal with uvicorn: used by ``pupildata serve`` and, later, by ``pupildata demo``."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable, Mapping

from pupildata.errors import UsageError
from pupildata.settings import Settings

LOOPBACK_NAMES = ("localhost",)


def url_for(host: str, port: int) -> str:
    """The address to print for people: IPv6 hosts in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    """Fail with one clear sentence, before starting, if the address cannot be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"Port {port} on {host} is already in use: choose another with --port.") from None
        if exc.errno == errno.EACCES:
            raise UsageError(f"Port {port} on {host} needs special permission: choose one above 1023.") from None
        raise UsageError(f"Cannot serve on {host}:{port}: {exc.strerror or exc}.") from None


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    checks: Mapping[str, Callable[[], bool]] | None = None,
) -> None:
    """Serve the portal until interrupted. The caller prints the address first."""
    import uvicorn

    from pupildata.kernel.context import health_checks
    from pupildata.web.app import create_app

    check_port_free(host, port)
    app = create_app(settings, checks=health_checks(settings) if checks is None else checks)
    uvicorn.run(app, host=host, port=port, server_header=False, log_level="info", access_log=True)


__all__ = ["check_port_free", "is_loopback", "serve", "url_for"]
