"""A throwaway PostgreSQL server for the tests, and a fresh database per test on it.

Where the server comes from, in order:
1. `COCKPIT_TEST_PG_URL` (`postgresql://USER@127.0.0.1:PORT/postgres`, a user allowed to
   CREATE DATABASE and CREATE ROLE): `.ci/run` starts one with this module and exports it;
2. otherwise, when the Debian `postgresql` package's `initdb`/`pg_ctl` are found (on PATH or under
   `/usr/lib/postgresql/*/bin`), the test session starts its own cluster in a temporary directory
   on 127.0.0.1 and a free port, and stops it at the end;
3. otherwise the PostgreSQL tests skip, with the reason.

The cluster trusts every local user except `cockpit_pw`, which must give its password (scram):
the wrong-password test needs one user that is really checked. Durability is off (fsync,
synchronous_commit, full_page_writes) because a test database is thrown away; the bench starts
its own cluster with the defaults.

Run as a script (`python -m tests.pg_server start DIR` / `stop DIR`) it starts or stops a cluster
and prints its URL; that is what `.ci/run` does.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ENV_URL: Final = "COCKPIT_TEST_PG_URL"
PASSWORD_USER: Final = "cockpit_pw"
PASSWORD: Final = "right-horse-battery"
FAST_OPTIONS: Final = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def find_bin(name: str) -> str | None:
    """A PostgreSQL server program: PATH first, then the newest Debian version directory."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    return candidates[-1] if candidates else None


def _version_key(path: str) -> tuple[int, str]:
    version = Path(path).parent.parent.name
    return (int(version) if version.isdigit() else 0, path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the package's `postgres` user."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@dataclass
class Cluster:
    """One running throwaway cluster."""

    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pause(self) -> None:
        """Stop the server (fast: open connections are cut), keeping its data for `resume`."""
        self._ctl("-m", "fast", "stop")

    def resume(self) -> None:
        """Start the stopped server again on the same port, waiting until it takes connections."""
        self._ctl("-l", str(self.directory / "server.log"), "-t", "120", "start")

    def _ctl(self, *argv: str) -> None:
        pg_ctl = find_bin("pg_ctl")
        if pg_ctl is None:
            raise RuntimeError("pg_ctl not found")
        _run([pg_ctl, "-D", str(self.data), "-w", *argv])

    def stop(self) -> None:
        pg_ctl = find_bin("pg_ctl")
        if pg_ctl and self.data.exists():
            subprocess.run(
                _as_server_user([pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"]),
                capture_output=True,
                check=False,
                timeout=120,
            )
        shutil.rmtree(self.directory, ignore_errors=True)


def start_cluster(directory: Path | None = None, *, fast: bool = True) -> Cluster:
    """initdb + pg_ctl start on a free 127.0.0.1 port; raises RuntimeError with the reason."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("PostgreSQL server programs (initdb, pg_ctl) not found")
    if os.geteuid() == 0:
        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no 'postgres' user") from None
    directory = Path(directory or tempfile.mkdtemp(prefix="cockpit-pg-"))
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(directory, server_user.pw_uid, server_user.pw_gid)
    cluster = Cluster(directory, _free_port())
    _run([initdb, "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"])
    hba = (
        f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
        "host all all 127.0.0.1/32 trust\n"
        "local all all trust\n"
    )
    (cluster.data / "pg_hba.conf").write_text(hba, encoding="utf-8")
    options = [
        "listen_addresses='127.0.0.1'",
        f"port={cluster.port}",
        f"unix_socket_directories='{cluster.directory}'",
        "max_connections=200",
        *(FAST_OPTIONS if fast else ()),
    ]
    conf = "\n".join(options) + "\n"
    with (cluster.data / "postgresql.conf").open("a", encoding="utf-8") as handle:
        handle.write(conf)
    log = cluster.directory / "server.log"
    try:
        _run([pg_ctl, "-D", str(cluster.data), "-l", str(log), "-w", "-t", "120", "start"])
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        cluster.stop()
        raise RuntimeError(f"{exc}\n{tail}") from None
    return cluster


def _run(argv: list[str]) -> None:
    done = subprocess.run(
        _as_server_user(argv), capture_output=True, text=True, check=False, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stderr.strip() or done.stdout}")


# ------------------------------------------------------------------ databases on a server
async def _admin(admin_url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=30)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def reachable(admin_url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        await _admin(admin_url, "SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def create_database(admin_url: str) -> tuple[str, str]:
    """A new empty database: (its name, its SQLAlchemy asyncpg URL)."""
    name = f"cockpit_t_{uuid.uuid4().hex[:16]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    return name, sqlalchemy_url(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def ensure_password_user(admin_url: str) -> None:
    """The one user the throwaway cluster checks a password for (it may already exist)."""
    with contextlib.suppress(Exception):
        await _admin(admin_url, f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")


def sqlalchemy_url(admin_url: str, database: str, *, user: str | None = None) -> str:
    """The admin URL turned into a SQLAlchemy asyncpg URL for `database` (and `user`)."""
    from sqlalchemy.engine import make_url

    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=database)
    if user is not None:
        url = url.set(username=user, password=None)
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def session_server() -> Iterator[tuple[str | None, str]]:
    """(admin URL or None, why there is none) for one test session."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url, ""
        return
    try:
        cluster = start_cluster()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        yield None, f"no PostgreSQL for the tests ({ENV_URL} unset; {exc})"
        return
    try:
        yield cluster.admin_url, ""
    finally:
        cluster.stop()


def main(argv: list[str]) -> int:
    """`start DIR` prints the admin URL of a new cluster in DIR; `stop DIR` stops it."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.pg_server start|stop DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    if argv[0] == "stop":
        port_file = directory / "port"
        port = int(port_file.read_text()) if port_file.exists() else 0
        Cluster(directory, port).stop()
        return 0
    cluster = start_cluster(directory)
    (directory / "port").write_text(str(cluster.port), encoding="utf-8")
    print(cluster.admin_url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
