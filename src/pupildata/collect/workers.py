"""What parse worker processes need besides the parser: they end when the process that started them ends, and
they give way to it.

Workers are forked from a fork server, so they are not the collecting process's children and nothing ends them
if that process is killed (SIGKILL runs no clean-up): each watches it and exits once it has gone.

The collecting process checks and writes every file, one batch after another: its work is the run's critical
path, and the workers only have to stay ahead of it. They run at a lower priority (``NICENESS``), so that it never
waits for a core they hold; they still have every core it leaves idle."""

from __future__ import annotations

import contextlib
import os
import threading
import time

#: How often a worker looks for the process that started it (seconds).
WATCH_EVERY = 0.5
#: How much lower a worker's priority is than the collecting process's.
NICENESS = 10


def exit_with(pid: int) -> None:
    """Worker initialiser: give way to the process ``pid`` (a lower priority), and end this process (at once, with
    no clean-up) when it has gone."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)

    def watch() -> None:
        while True:
            time.sleep(WATCH_EVERY)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # a process of another user took the number: ours has gone
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-collector", daemon=True).start()
