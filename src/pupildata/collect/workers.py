"""What parse worker processes need besides the parser: they end when the process that started them ends.

Workers are forked from a fork server, so they are not the collecting process's children and nothing ends them
if that process is killed (SIGKILL runs no clean-up): each watches it and exits once it has gone."""

from __future__ import annotations

import os
import threading
import time

#: How often a worker looks for the process that started it (seconds).
WATCH_EVERY = 0.5


def exit_with(pid: int) -> None:
    """Worker initialiser: end this process (at once, with no clean-up) when the process ``pid`` has gone."""

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
