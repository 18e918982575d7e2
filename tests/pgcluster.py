"""A throwaway PostgreSQL cluster for the tests, started from the installed server binaries.

`initdb` into a fresh temporary directory, a free port on 127.0.0.1, the unix socket inside that directory,
settings for a test cluster (no fsync), trust authentication. PostgreSQL refuses to run as root, so under
root the cluster runs as `postgres` (created by the Debian package) or else `nobody`. The cluster is stopped
(`pg_ctl stop -m immediate`) and its directory removed at exit; a cluster left behind by a killed run is
cleaned up by the next one.

No binaries: `find_bindir()` returns None and the tests that need PostgreSQL are skipped (or fail when
CONTACTS_MCP_REQUIRE_POSTGRES=1). CONTACTS_MCP_PG_BINDIR=/some/dir overrides where the binaries are looked for.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

BINDIR_ENV = "CONTACTS_MCP_PG_BINDIR"
REQUIRE_ENV = "CONTACTS_MCP_REQUIRE_POSTGRES"
MISSING = (
    "PostgreSQL tests skipped: no server binaries found; "
    "install the Debian package `postgresql` (apt-get install postgresql)"
)
_PREFIX = "contacts-mcp-pg-"
_NEEDED = ("initdb", "pg_ctl", "postgres")
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "'128MB'",
    "max_wal_size": "'1GB'",
    "log_checkpoints": "off",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def _has_server(bindir: str | Path) -> bool:
    return all(os.access(Path(bindir) / name, os.X_OK) for name in _NEEDED)


def find_bindir() -> Path | None:
    """The server binaries' directory: the override, else the highest /usr/lib/postgresql/<major>/bin."""
    override = os.environ.get(BINDIR_ENV)
    if override:
        return Path(override) if _has_server(override) else None

    def major(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.name)) or (0,)

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True):
        if _has_server(bindir):
            return Path(bindir)
    # pg_config may name a client-only directory (Debian's postgresql-common), hence last and checked.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and _has_server(out.stdout.strip()):
            return Path(out.stdout.strip())
    return None


def _run_as() -> str | None:
    """The unprivileged user to run the server as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and neither user `postgres` nor `nobody` exists to run PostgreSQL as")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _locale() -> str:
    # C.UTF-8 makes lower()/upper() work beyond ASCII; plain C when the machine lacks it.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        names = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10).stdout.split()
        for name in names:
            if name.lower() in ("c.utf8", "c.utf-8"):
                return name
    return "C"


class Cluster:
    """One running cluster; `url(dbname)` for a database in it, `create_database(name)` to make one."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = _run_as()  # None: the current user
        self.superuser = self.user or pwd.getpwuid(os.geteuid()).pw_name
        self.root: Path | None = None
        self.port = 0
        self._lock = threading.Lock()
        self._stopped = False
        self._databases = itertools.count(1)

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _cmd(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        argv, demote = [str(self.bindir / args[0]), *args[1:]], None
        if self.user and shutil.which("runuser"):
            argv = ["runuser", "-u", self.user, "--", *argv]
        elif self.user:
            ent = pwd.getpwnam(self.user)

            def demote() -> None:
                os.setgroups([]), os.setgid(ent.pw_gid), os.setuid(ent.pw_uid)

        out = subprocess.run(
            argv, cwd=self.root, capture_output=True, text=True, timeout=timeout, preexec_fn=demote
        )
        if check and out.returncode != 0:
            log = self.root / "server.log" if self.root else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stdout}{out.stderr}{tail}")
        return out

    def start(self) -> Cluster:
        _reap_orphans(self._cmd)
        parent = "/tmp" if self.user and os.path.isdir("/tmp") else None  # root's TMPDIR may be private
        self.root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=parent))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        atexit.register(self.stop)
        if self.user:
            ent = pwd.getpwnam(self.user)
            os.chown(self.root, ent.pw_uid, ent.pw_gid)
        self._cmd("initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust", "-E", "UTF8",
                  f"--locale={_locale()}", "--no-sync")
        for attempt in range(5):  # a port picked free can be taken before the server binds it
            self.port = _free_port()
            settings = dict(_SETTINGS, port=str(self.port), unix_socket_directories=f"'{self.root}'")
            with open(self.data / "postgresql.conf", "a") as conf:
                conf.write("\n# contacts-mcp test cluster\n")
                conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
            out = self._cmd("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
                            "-l", str(self.root / "server.log"), check=attempt == 4)
            if out.returncode == 0:
                break
        return self

    def stop(self) -> None:
        with self._lock:
            if self._stopped or self.root is None:
                return
            self._stopped = True
        _stop_dir(self.root, self._cmd)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{dbname}"

    def admin(self):
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create an empty database (template0: pristine whatever was added to template1); returns its URL."""
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {template}')
        return self.url(name)

    @contextlib.contextmanager
    def fresh_database(self):
        """A new empty database for the block (its URL), dropped after it even if connections are left open."""
        name = f"test_{next(self._databases)}"
        url = self.create_database(name)
        try:
            yield url
        finally:
            self.drop_database(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stop_dir(root: Path, cmd=None) -> None:
    """Stop the cluster under `root` (if running) and remove the directory."""
    data = root / "data"
    if (data / "postmaster.pid").exists():
        try:
            if cmd is not None:
                cmd("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(data), check=False, timeout=30)
        except Exception:
            pass
        # pg_ctl failed: the postmaster pid is the first line of postmaster.pid (if it is still a postgres).
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((data / "postmaster.pid").read_text().split()[0])
            if b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGQUIT)
    shutil.rmtree(root, ignore_errors=True)


def _reap_orphans(cmd) -> None:
    """Clusters from runs that were killed (atexit never ran): stop them, remove their directories."""
    parents = {"/tmp", tempfile.gettempdir()}
    for owner in sorted({o for p in parents for o in glob.glob(os.path.join(p, _PREFIX + "*", "owner.pid"))}):
        try:
            pid = int(Path(owner).read_text())
            os.kill(pid, 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue
        _stop_dir(Path(owner).parent, cmd)


_cluster: Cluster | None = None
_cluster_error: BaseException | None = None
skipped = False  # set when a test was skipped for want of binaries: the run ends with the MISSING line


def missing_required() -> str:
    where = os.environ.get(BINDIR_ENV) or "/usr/lib/postgresql/*/bin, pg_config --bindir"
    return (
        f"{REQUIRE_ENV}=1 but no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found in {where}; "
        "install the Debian package `postgresql` (apt-get install postgresql), or unset the variable to skip"
    )


def shared_cluster() -> Cluster | None:
    """The session's cluster, started on first use; None when there are no server binaries."""
    global _cluster, _cluster_error
    if _cluster_error is not None:
        raise _cluster_error
    if _cluster is None:
        bindir = find_bindir()
        if bindir is None:
            return None
        try:
            _cluster = Cluster(bindir).start()
        except BaseException as exc:
            _cluster_error = exc
            raise
        _trap_sigterm()
    return _cluster


def _trap_sigterm() -> None:
    # SIGTERM would end the run without atexit or fixture finalisers; as an interrupt, both run.
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def interrupt(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, interrupt)
