"""Disclosure control in worker processes, so that the warehouse can build the next release's tables meanwhile.

Each prepared release (``release.Prepared``: its tables, no connection) is sent to a process of its own, started
from a ``forkserver`` (never forked from the process that holds the warehouse's threads), which runs
``release.protect`` — primary and secondary suppression, the audit, the rendered files — and sends back the
``release.Protected`` or the exception it raised. At most ``count`` run at a time; the others wait their turn in
the order given. ``close`` ends any still running (a release that is not wanted any more, or an interrupt).

Scripts that start publishing with workers must guard their entry point (``if __name__ == "__main__":``): a
forkserver's processes import the main module.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from pupildata.policy import Disclosure
from pupildata.publish.release import Prepared, Protected, protect

Result = Protected | Exception


def _work(conn: Connection, prepared: Prepared, disclosure: Disclosure) -> None:  # pragma: no cover - a worker
    result: tuple[str, Any]
    try:
        result = ("done", protect(prepared, disclosure))
    except Exception as exc:  # sent back as it is; the main process raises it
        result = ("failed", exc)
    try:
        conn.send(result)
    except Exception as exc:  # an exception that cannot be pickled: its text
        conn.send(("failed", RuntimeError(f"{type(result[1]).__name__}: {result[1]} ({exc})")))
    conn.close()


class Workers:
    """Up to ``count`` worker processes protecting prepared releases, each known by its key."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self.context = multiprocessing.get_context("forkserver")
        # a server started here imports disclosure control once, not each worker (no effect on one running)
        self.context.set_forkserver_preload(["__main__", __name__])
        self.waiting: deque[tuple[int, Prepared, Disclosure]] = deque()
        self.running: dict[int, tuple[BaseProcess, Connection, str]] = {}
        self.done: dict[int, Result] = {}

    def submit(self, key: int, prepared: Prepared, disclosure: Disclosure) -> None:
        self.waiting.append((key, prepared, disclosure))
        self._start()

    def _start(self) -> None:
        while self.waiting and len(self.running) < self.count:
            key, prepared, disclosure = self.waiting.popleft()
            receive, send = self.context.Pipe(duplex=False)
            process = self.context.Process(
                target=_work, args=(send, prepared, disclosure), name=f"publish-{prepared.spec.name}"
            )
            process.start()
            send.close()
            self.running[key] = (process, receive, prepared.spec.name)

    def poll(self, timeout: float | None = 0.0) -> None:
        """Collect what the running workers have finished (waiting up to ``timeout`` seconds for one; ``None``:
        until one finishes) and start the next."""
        if not self.running:
            return
        ready = wait([conn for _, conn, _ in self.running.values()], timeout)
        for key in [k for k, (_, conn, _) in self.running.items() if conn in ready]:
            process, conn, name = self.running.pop(key)
            try:
                _, value = conn.recv()
            except EOFError:
                process.join()
                value = RuntimeError(
                    f"The disclosure control of release {name} stopped unexpectedly (exit code {process.exitcode})."
                )
            else:
                process.join()
            conn.close()
            self.done[key] = value
        self._start()

    def ready(self, key: int) -> bool:
        self.poll(0.0)
        return key in self.done

    def result(self, key: int) -> Result:
        """The release's outcome, waiting for it."""
        while key not in self.done:
            self.poll(None)
        return self.done.pop(key)

    def close(self) -> None:
        """End every worker still running and forget the waiting ones."""
        self.waiting.clear()
        for process, conn, _ in self.running.values():
            process.terminate()
            process.join()
            conn.close()
        self.running.clear()
