"""One `pengcheng demo` per instance path: the second one says the first is running."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class DemoRunning(RuntimeError):
    """Another demo serves this instance path."""


_HELD: list[IO[str]] = []  # the open lock file lives as long as the process


def hold_demo_lock(instance_path: str, url: str) -> None:
    """Take `<instance>/demo.lock` for this process (the kernel releases it when the process
    ends, however it ends), or raise `DemoRunning` naming the demo that holds it."""
    path = Path(instance_path) / "demo.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - held until the process exits
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise DemoRunning(f"a pengcheng demo is already running for {instance_path} "
                          f"({holder}); stop it first, or give this one another "
                          "PENGCHENG_INSTANCE_PATH") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}, {url}\n")
    fh.flush()
    _HELD.append(fh)
