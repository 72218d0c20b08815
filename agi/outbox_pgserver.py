"""A throwaway PostgreSQL cluster for the outbox tests and benchmark.

Uses the Debian `postgresql` package's binaries (initdb, pg_ctl) to create a
cluster in a temporary directory and start it on a free loopback port. The
server refuses to run as root, so under root the cluster belongs to the
`postgres` system user the package creates. Any failure raises
`PgServerError` with what went wrong: nothing is skipped silently.

    with TempPostgres() as pg:
        Outbox(pg.dsn)
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PgServerError(RuntimeError):
    pass


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if versions:
        return Path(versions[-1]).parent
    raise PgServerError("PostgreSQL server binaries not found: install the Debian package 'postgresql' "
                        "(pg_ctl and initdb under /usr/lib/postgresql/<version>/bin)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    def __init__(self, user: str = "callticket", fsync: bool = False):
        self.user = user
        self.fsync = fsync
        self.port = _free_port()
        self.dir: Path | None = None
        self._run_as: list[str] = []

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(self._run_as + list(args), capture_output=True, text=True, timeout=timeout,
                                  check=True, cwd="/")
        except subprocess.CalledProcessError as exc:
            raise PgServerError(f"{Path(args[0]).name} failed (exit {exc.returncode}): "
                                f"{(exc.stderr or exc.stdout).strip()[-2000:]}") from None
        except subprocess.TimeoutExpired:
            raise PgServerError(f"{Path(args[0]).name} did not finish in {timeout} s") from None

    def start(self) -> TempPostgres:
        bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="callticket-pg-"))
        data = self.dir / "data"
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PgServerError("running as root and there is no 'postgres' user to own the test cluster "
                                    "(the Debian 'postgresql' package creates it)") from None
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            runuser = shutil.which("runuser") or shutil.which("setpriv")
            if runuser is None:
                raise PgServerError("running as root and neither runuser nor setpriv is available")
            self._run_as = ([runuser, "-u", "postgres", "--"] if runuser.endswith("runuser") else
                            [runuser, f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--init-groups"])
        self._cmd(str(bindir / "initdb"), "-D", str(data), "-U", self.user, "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=200")
        self._cmd(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.dir / "server.log"),
                  "-w", "-t", "60", "start", timeout=90)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PgServerError(f"PostgreSQL did not accept connections: {exc}; log: {self.log()}") from None
                time.sleep(0.1)

    def log(self) -> str:
        try:
            return (self.dir / "server.log").read_text()[-2000:] if self.dir else ""
        except OSError:
            return ""

    def stop(self) -> None:
        if self.dir is None:
            return
        try:
            self._cmd(str(_bindir() / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except PgServerError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
