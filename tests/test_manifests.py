"""The registry entry (server.json) and the bundle manifest (manifest.json) agree with pyproject.toml."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "manifests"


def _load_json(name: str) -> dict[str, Any]:
    return json.loads((MANIFESTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def server_json() -> dict[str, Any]:
    return _load_json("server.json")


@pytest.fixture(scope="module")
def bundle_manifest() -> dict[str, Any]:
    return _load_json("manifest.json")


@pytest.fixture(scope="module")
def pypi_package(server_json: dict[str, Any]) -> dict[str, Any]:
    packages = [p for p in server_json["packages"] if p["registryType"] == "pypi"]
    assert len(packages) == 1, "server.json should describe exactly one PyPI package"
    return packages[0]


def test_registry_manifest_version_matches_pyproject(server_json, pyproject):
    assert server_json["version"] == pyproject["project"]["version"]


def test_registry_pypi_package_version_matches_pyproject(pypi_package, pyproject):
    assert pypi_package["version"] == pyproject["project"]["version"]


def test_bundle_manifest_version_matches_pyproject(bundle_manifest, pyproject):
    assert bundle_manifest["version"] == pyproject["project"]["version"]


def test_registry_description_fits_the_100_character_limit(server_json):
    assert 1 <= len(server_json["description"]) <= 100


def test_registry_package_is_the_pypi_distribution_over_stdio(pypi_package, pyproject):
    assert pypi_package["registryType"] == "pypi"
    assert pypi_package["identifier"] == pyproject["project"]["name"]
    assert pypi_package["transport"]["type"] == "stdio"


def test_registry_package_declares_the_database_environment_variable(pypi_package):
    names = {var["name"] for var in pypi_package.get("environmentVariables", [])}
    assert "CONTACTS_MCP_DB" in names


def test_bundle_manifest_uses_spec_version_0_3(bundle_manifest):
    assert bundle_manifest["manifest_version"] == "0.3"


def test_bundle_passes_the_database_path_user_setting_as_contacts_mcp_db(bundle_manifest):
    env = bundle_manifest["server"]["mcp_config"]["env"]
    assert env["CONTACTS_MCP_DB"] == "${user_config.database_path}"
    assert "database_path" in bundle_manifest["user_config"]


def test_pyproject_console_script_is_named_contacts_mcp(pyproject):
    assert "contacts-mcp" in pyproject["project"]["scripts"]


def test_bundle_runs_the_same_module_as_the_console_script(bundle_manifest, pyproject):
    module = pyproject["project"]["scripts"]["contacts-mcp"].split(":")[0]
    args = bundle_manifest["server"]["mcp_config"]["args"]
    assert args[args.index("-m") + 1] == module


def test_every_optional_bundle_setting_has_a_default_so_no_placeholder_reaches_the_server(bundle_manifest):
    # MCPB hosts leave "${user_config.KEY}" verbatim when KEY is unset and has no default.
    env = bundle_manifest["server"]["mcp_config"]["env"]
    for key, option in bundle_manifest["user_config"].items():
        if f"${{user_config.{key}}}" in env.values() and not option.get("required", False):
            assert "default" in option, key


async def test_the_bundle_manifest_lists_exactly_the_servers_tools(bundle_manifest, tmp_path):
    from mcp import Client

    from contacts_mcp.core.settings import Settings
    from contacts_mcp.server.app import build_server

    async with Client(build_server(Settings(db_path=tmp_path / "m.db"))) as client:
        served = [t.name for t in (await client.list_tools()).tools]
    assert [t["name"] for t in bundle_manifest["tools"]] == served
