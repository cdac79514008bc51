"""Kernel commands: ``audit verify``, ``runs`` and ``demo``."""

from __future__ import annotations

from typing import Annotated

import typer

from pupildata.cli import HomeOpt, JsonOpt, emit_json, out, settings_for
from pupildata.kernel.context import Context

audit_app = typer.Typer(help="The audit trail of every access to a person's data.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Check the whole hash chain; name the first event that was edited, deleted, inserted or reordered."""
    with Context(settings_for(home)) as ctx:
        result = ctx.audit.verify()
    if json_out:
        emit_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "first_bad_seq": result.first_bad_seq,
                "problem": result.problem or None,
            }
        )
    else:
        out.print(result.describe(), markup=False)
    if not result.ok:
        raise typer.Exit(1)


def runs(
    home: HomeOpt = None,
    step: Annotated[str | None, typer.Option(help="Only runs of this step.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs to show.")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """The most recent pipeline runs: step, status, counts and timing."""
    with Context(settings_for(home)) as ctx:
        recent = ctx.runs.recent(step, limit)
    if json_out:
        emit_json(
            [
                {
                    "id": r.id,
                    "step": r.step,
                    "status": r.status,
                    "started_at": r.started_at,
                    "duration_seconds": r.duration_seconds,
                    "counts": r.counts,
                    "inputs": r.inputs,
                    "outputs": r.outputs,
                    "error": r.error,
                }
                for r in recent
            ]
        )
        return
    if not recent:
        out.print("No runs yet.")
    for r in recent:
        counts = ", ".join(f"{k} {v:,}" for k, v in r.counts.items())
        took = f"{r.duration_seconds:.1f}s" if r.duration_seconds is not None else "-"
        out.print(f"#{r.id} {r.step:<12} {r.status:<10} {took:>8}  {counts}", markup=False)
        if r.error:
            out.print(f"    {r.error}", markup=False)


def demo(
    home: HomeOpt = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after the main job; do not serve.")] = False,
    host: Annotated[str, typer.Option(help="Address to serve the portal on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve the portal on.")] = 8000,
    json_out: JsonOpt = False,
) -> None:
    """The main job on the embedded defaults: a synthetic local authority end to end, then the portal."""
    from pupildata.demo import run_demo

    settings = settings_for(home)
    summary = run_demo(settings, quiet=json_out)
    if json_out:
        emit_json(summary)
    if not no_serve:
        from pupildata.web.cli import demo_sign_in_link, serve
        from pupildata.web.server import url_for

        link = demo_sign_in_link(settings.home, url_for(host, port))
        out.print(
            "Collections and validation reports need an account. Sign in as the demonstration's statistician "
            f"with this one-time link (it works once, for 30 minutes; `pupildata user link demo` makes another):\n  "
            f"{link}",
            markup=False,
        )
        serve(home=settings.home, host=host, port=port)


def register(app: typer.Typer) -> None:
    """Add the kernel's commands to the root command."""
    app.add_typer(audit_app, name="audit")
    app.command("runs")(runs)
    app.command("demo")(demo)
