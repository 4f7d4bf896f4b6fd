"""Real engines for the tests: a throwaway PostgreSQL server and local Spark.

The PostgreSQL server is Debian's package (``.ci/install-engines``), started
with a temporary data folder, listening on 127.0.0.1 only, on a free port; it
is stopped and its folder removed when the test session ends. PostgreSQL
refuses to run as root, so under root (CI) it runs as the ``postgres`` user.

Spark runs in local mode with two threads and a bounded driver memory.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SPARK_MASTER = "local[2]"
SPARK_MEMORY = "768m"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries were found."""


def postgres_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if not found:
        raise PostgresMissing("PostgreSQL is not installed; run .ci/install-engines")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: Path
    folder: Path
    port: int
    as_user: list[str]

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=workbench dbname={dbname}"

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True,
                       text=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.conninfo(name)

    def stop(self) -> None:
        try:
            self.run(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"),
                     "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """initdb a temporary cluster and start it on 127.0.0.1:<free port>.

    The cluster is UTF-8 with the C.UTF-8 locale, so ``lower`` folds every
    alphabet (Cyrillic included), as DESIGN.md's comparisons need.
    """
    bindir = postgres_bindir()
    folder = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    server = PostgresServer(bindir, folder, free_port(), as_user)
    try:
        server.run(str(bindir / "initdb"), "-D", str(folder / "data"), "-U", "workbench",
                   "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
        options = (f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c shared_buffers=32MB -c max_connections=20")
        server.run(str(bindir / "pg_ctl"), "-D", str(folder / "data"), "-o", options,
                   "-l", str(folder / "server.log"), "-w", "-t", "60", "start")
    except subprocess.CalledProcessError as err:
        log = folder / "server.log"
        detail = log.read_text() if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {err.stderr}{detail}") from None
    return server


def start_spark():
    """A local Spark session on 127.0.0.1 with bounded memory."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from workbench.engines import SparkEngine

    return SparkEngine.start(SPARK_MASTER, memory=SPARK_MEMORY).session
