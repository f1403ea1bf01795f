"""Drive a server with wrk and a file of prepared requests; parse wrk's figures."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

LUA = Path(__file__).with_name("requests.lua")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def write_requests(path: Path, lines: list[tuple[str, str, str, str]]) -> Path:
    """Lines of (method, path, authorization header value, JSON body or "")."""
    path.write_text("".join("\t".join(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return round(float(value) * UNITS[unit], 2)


def run(port: int, requests: Path, *, connections: int, seconds: float,
        threads: int = 2, repeat: bool = True) -> dict:
    """requests/s, p50/p99 (ms) and non-2xx count for a bounded wrk run on 127.0.0.1.

    `repeat=False` for single-use requests: once a wrk thread has sent its share, it asks for
    a missing page (404), so running out shows as non-2xx answers."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s",
         "--latency", "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(requests),
         str(threads), "repeat" if repeat else "once"],
        capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", out, re.M))
    if set(latency) != {"50", "99"}:
        raise SystemExit(f"wrk gave no latency figures:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: (.*)$", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    return {
        "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),  # type: ignore[union-attr]
        "p50_ms": _ms(latency["50"]), "p99_ms": _ms(latency["99"]),
        "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket.group(1) if socket else "",
    }
