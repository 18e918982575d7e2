from pathlib import Path

from contacts_mcp.core.settings import Settings, default_db_path


def test_database_and_region_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTACTS_MCP_DB", str(tmp_path / "x.db"))
    monkeypatch.setenv("CONTACTS_MCP_DEFAULT_REGION", "be")
    s = Settings.from_env()
    assert s.db_path == tmp_path / "x.db" and s.default_region == "BE"


def test_command_line_values_win_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTACTS_MCP_DB", str(tmp_path / "env.db"))
    assert Settings.from_env(db_path=tmp_path / "cli.db").db_path == tmp_path / "cli.db"


def test_an_unexpanded_bundle_placeholder_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv("CONTACTS_MCP_DB", "${user_config.database_path}")
    monkeypatch.setenv("CONTACTS_MCP_DEFAULT_REGION", "")
    s = Settings.from_env()
    assert s.db_path == default_db_path() and s.default_region == "FR"
    assert isinstance(s.db_path, Path)


def test_a_postgresql_url_selects_postgresql_and_is_shown_without_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTACTS_MCP_FILES_DIR", str(tmp_path / "shared"))
    s = Settings.from_env(db_path="postgresql://app:s3cret@db.internal:5432/contacts")
    assert s.db_url == "postgresql://app:s3cret@db.internal:5432/contacts"
    assert s.database == "postgresql://app@db.internal:5432/contacts" and "s3cret" not in s.database
    assert s.jobs_dir == tmp_path / "shared"  # every process must see the same import files
    plain = Settings.from_env(db_path=tmp_path / "c.db")
    assert plain.db_url is None and plain.database == str(tmp_path / "c.db")
