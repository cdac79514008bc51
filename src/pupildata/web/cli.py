"""The ``pupildata serve`` command (the web portal and its JSON API) and ``pupildata user`` (its accounts)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pupildata.cli import HomeOpt, JsonOpt, emit_json, err, out, settings_for
from pupildata.errors import UsageError

if TYPE_CHECKING:
    from pupildata.kernel.context import Context
    from pupildata.web.accounts import Accounts

users = typer.Typer(
    help="The portal's accounts: add people with a role, give them a sign-in link or an API token, disable them.",
    no_args_is_help=True,
)

PortalOpt = Annotated[str, typer.Option("--portal", help="The portal's address, for the sign-in link.")]


def register(app: typer.Typer) -> None:
    """Add the web portal's commands to the root command."""
    app.command()(serve)
    app.add_typer(users, name="user")


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
            f"Warning: serving on {host} makes the portal reachable from other computers. Its session cookies are "
            "marked Secure only over HTTPS: serve it behind a proxy that terminates TLS.",
            markup=False,
        )
    out.print(f"Pupil data service at {server.url_for(host, port)} (data home {settings.home}). Ctrl+C stops it.")
    server.serve(settings, host=host, port=port)


def _accounts(home: Path | None) -> tuple[Context, Accounts]:
    from pupildata.kernel.context import Context
    from pupildata.web.accounts import Accounts

    ctx = Context(settings_for(home))
    return ctx, Accounts(ctx.registry, ctx.keys)


def _record(ctx: Context, action: str, username: str, **detail: object) -> None:
    from pupildata.kernel.audit import Event
    from pupildata.kernel.runs import default_actor

    ctx.audit.append(Event(default_actor(), action, "account", username, "portal accounts", detail))


def sign_in_link(ctx: Context, accounts: Accounts, username: str, portal: str) -> str:
    """A one-time sign-in link for ``username`` (30 minutes), recorded in the audit trail."""
    from pupildata.web.accounts import LINK

    token = accounts.start(accounts.get(username), LINK)
    _record(ctx, "sign-in link made", username)
    return f"{portal.rstrip('/')}/sign-in/link/{token}"


DEMO_ACCOUNT = "demo"


def demo_sign_in_link(home: Path, portal: str) -> str:
    """A one-time sign-in link for the demonstration's statistician account (made the first time)."""
    ctx, accounts = _accounts(home)
    try:
        accounts.get(DEMO_ACCOUNT)
    except UsageError:
        accounts.add(DEMO_ACCOUNT, "Demonstration statistician", "statistician")
        _record(ctx, "account created", DEMO_ACCOUNT, role="statistician", scope=[])
    return sign_in_link(ctx, accounts, DEMO_ACCOUNT, portal)


def _password_from_stdin() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@users.command("add")
def add_user(  # noqa: PLR0917 - a command's options
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, dots, hyphens or underscores.")],
    role: Annotated[
        str, typer.Option("--role", help="statistician, chief-statistician, data-protection-officer or sender.")
    ],
    name: Annotated[str, typer.Option("--name", help="The person's name, shown when they are signed in.")] = "",
    sender: Annotated[
        list[str] | None,
        typer.Option(
            "--sender", help="For a sender: a sender's code, or la:NNN for an authority's schools (repeatable)."
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a password (12 characters or more) from standard input.")
    ] = False,
    portal: PortalOpt = "http://127.0.0.1:8000",
    home: HomeOpt = None,
) -> None:
    """Add an account. Without --password-stdin, prints a one-time sign-in link instead."""
    ctx, accounts = _accounts(home)
    password = _password_from_stdin() if password_stdin else None
    user = accounts.add(username, name, role, sender or [], password)
    _record(ctx, "account created", username, role=role, scope=list(user.scope))
    out.print(f"Account {user.username} ({user.role_title}) created.", markup=False)
    if password is None:
        out.print(
            f"Sign-in link (works once, for 30 minutes): {sign_in_link(ctx, accounts, username, portal)}", markup=False
        )


@users.command("link")
def link(username: str, portal: PortalOpt = "http://127.0.0.1:8000", home: HomeOpt = None) -> None:
    """Print a one-time sign-in link for an account (works once, for 30 minutes)."""
    ctx, accounts = _accounts(home)
    out.print(sign_in_link(ctx, accounts, username, portal), markup=False)


@users.command("password")
def password(username: str, home: HomeOpt = None) -> None:
    """Set an account's password, read from standard input (12 characters or more); unlocks the account."""
    ctx, accounts = _accounts(home)
    accounts.get(username)
    accounts.set_password(username, _password_from_stdin())
    _record(ctx, "password set", username)
    out.print(f"Password of {username} set.", markup=False)


@users.command("token")
def token(
    username: str,
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="How long the token works.")] = 90,
    label: Annotated[
        str, typer.Option("--label", help="What the token is for, as its holder's tokens page lists it (1-60).")
    ] = "command line",
    home: HomeOpt = None,
) -> None:
    """Print an API token for an account, to send as 'Authorization: Bearer TOKEN'. It is shown only once; its
    holder sees it, by its label, on their API tokens page and can revoke it there."""
    from pupildata.web.tokens import check_label

    label = check_label(label)  # before the account is looked up: a mistake in the command comes first
    ctx, accounts = _accounts(home)
    secret, made = accounts.make_token(accounts.get(username), label, days)
    _record(ctx, "API token made", username, label=made.label, days=days, token=made.public_id)
    out.print(secret, markup=False)


@users.command("disable")
def disable(username: str, home: HomeOpt = None) -> None:
    """Stop an account signing in, and end its sessions, tokens and links."""
    ctx, accounts = _accounts(home)
    accounts.disable(username)
    _record(ctx, "account disabled", username)
    out.print(f"Account {username} disabled.", markup=False)


@users.command("two-factor-reset")
def two_factor_reset(username: str, home: HomeOpt = None) -> None:
    """Turn off an account's two-factor sign-in (a lost phone, no recovery codes left) and sign out its browsers;
    its recovery codes stop working. It is set up again at the next sign-in where the account's role must use it."""
    ctx, accounts = _accounts(home)
    was_on = accounts.reset_two_factor(username)
    _record(ctx, "two-factor reset", username, was_on=was_on)
    if was_on:
        out.print(f"Two-factor sign-in of {username} turned off, and its browsers signed out.", markup=False)
    else:
        out.print(f"{username} had no two-factor sign-in on; any set-up under way is cancelled.", markup=False)


@users.command("list")
def list_users(home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Every account: username, role, what it may see, whether it has two-factor sign-in, whether it is disabled."""
    _, accounts = _accounts(home)
    rows: list[dict[str, Any]] = [
        {
            "username": u.username,
            "name": u.display_name,
            "role": u.role,
            "senders": list(u.scope),
            "disabled": u.disabled,
            "two_factor": u.two_factor,
        }
        for u in accounts.all()
    ]
    if json_out:
        emit_json(rows)
        return
    for row in rows:
        scope = f" — senders {', '.join(row['senders'])}" if row["senders"] else ""
        state = (" (two-factor sign-in)" if row["two_factor"] else "") + (" (disabled)" if row["disabled"] else "")
        out.print(f"{row['username']}: {row['name']}, {row['role']}{scope}{state}", markup=False)


__all__ = ["demo_sign_in_link", "register", "serve", "sign_in_link"]
