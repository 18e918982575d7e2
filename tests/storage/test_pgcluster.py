"""The throwaway PostgreSQL cluster the PostgreSQL tests run on (tests/pgcluster.py, fixtures in conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from tests import pgcluster

ROOT = Path(__file__).resolve().parents[2]


def _user_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return sorted(r[0] for r in rows)


def test_a_fresh_database_answers_select_1_and_holds_no_tables(pg_url):
    assert pg_url.startswith("postgresql://") and "@127.0.0.1:" in pg_url
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _user_tables(pg_url) == []


def test_a_table_made_in_one_test_database_is_absent_from_another(pg_url, pg_cluster):
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE only_in_first (id int)")
    with pg_cluster.fresh_database() as other:
        assert other != pg_url
        assert _user_tables(other) == []
        with psycopg.connect(other) as conn:
            conn.execute("CREATE TABLE only_in_second (id int)")
        assert _user_tables(pg_url) == ["only_in_first"]
        assert _user_tables(other) == ["only_in_second"]


def test_a_test_database_is_dropped_after_its_test_even_with_a_connection_left_open(pg_cluster):
    with pg_cluster.fresh_database() as url:
        left_open = psycopg.connect(url)
        name = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(pg_cluster.url("postgres")) as conn:
            assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone() == (0,)
    finally:
        left_open.close()


def test_the_server_does_not_run_as_root(pg_url):
    with psycopg.connect(pg_url) as conn:
        data_dir, backend_pid = conn.execute(
            "SELECT current_setting('data_directory'), pg_backend_pid()"
        ).fetchone()
        assert os.stat(data_dir).st_uid != 0
        postmaster_pid = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
        # Read while the connection is open: its backend process ends with it.
        for pid in (postmaster_pid, backend_pid):
            status = Path(f"/proc/{pid}/status").read_text()
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
            assert "0" not in uids, f"PostgreSQL process {pid} runs as root (real/effective/saved/fs uids {uids})"


def _pytest_without_binaries(tmp_path: Path, require: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **{pgcluster.BINDIR_ENV: str(tmp_path), pgcluster.REQUIRE_ENV: require})
    node = f"{__file__}::{test_a_fresh_database_answers_select_1_and_holds_no_tables.__name__}"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", node],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_without_server_binaries_postgres_tests_are_skipped_with_one_line_saying_what_to_install(tmp_path):
    run = _pytest_without_binaries(tmp_path, require="")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert run.stdout.count(pgcluster.MISSING) == 1, run.stdout


def test_without_server_binaries_postgres_tests_fail_when_postgres_is_required(tmp_path):
    run = _pytest_without_binaries(tmp_path, require="1")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "skipped" not in run.stdout
    assert "CONTACTS_MCP_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries" in run.stdout
    assert pgcluster.MISSING not in run.stdout
