"""Kernel commands: audit verification, the portal server and the demo."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the kernel's commands to the root command."""
