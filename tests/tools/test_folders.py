"""manage_folders and get_folders through an MCP client."""

from ..conftest import call, fails


async def folder(client, name):
    return (await call(client, "manage_folders", {"action": "create", "name": name}))["folder"]


async def test_folder_names_are_unique_and_a_clash_names_the_folder_in_the_way(client):
    f = await folder(client, "Clients")
    text = await fails(client, "manage_folders", {"action": "create", "name": "Clients"})
    assert f"id {f['id']}" in text


async def test_renaming_a_folder(client):
    f = await folder(client, "Old")
    renamed = await call(client, "manage_folders", {"action": "rename", "folder_id": f["id"], "name": "New"})
    assert renamed["folder"]["name"] == "New"
    await folder(client, "Other")
    assert "already exists" in await fails(client, "manage_folders",
                                           {"action": "rename", "folder_id": f["id"], "name": "Other"})
    assert "folder_id" in await fails(client, "manage_folders", {"action": "rename", "name": "x"})


async def test_a_folder_holding_lists_is_only_deleted_with_cascade(client):
    f = await folder(client, "F")
    for name in ("A", "B"):
        await call(client, "manage_lists", {"action": "create", "name": name, "folder_id": f["id"]})
    text = await fails(client, "manage_folders", {"action": "delete", "folder_id": f["id"]})
    assert "2 list(s)" in text and "cascade=true" in text
    result = await call(client, "manage_folders", {"action": "delete", "folder_id": f["id"], "cascade": True})
    assert result == {"deleted_folder_id": f["id"], "deleted_lists": 2}
    assert (await call(client, "get_lists", {}))["lists"] == []
    assert (await call(client, "get_folders", {}))["folders"] == []


async def test_an_empty_folder_is_deleted_without_cascade(client):
    f = await folder(client, "Empty")
    result = await call(client, "manage_folders", {"action": "delete", "folder_id": f["id"]})
    assert result == {"deleted_folder_id": f["id"], "deleted_lists": 0}
    assert "unknown folder id" in await fails(client, "manage_folders", {"action": "delete", "folder_id": f["id"]})


async def test_folders_list_their_lists_with_counts(client):
    f = await folder(client, "F")
    lst = (await call(client, "manage_lists", {"action": "create", "name": "A", "folder_id": f["id"]}))["list"]
    c = await call(client, "create_contact", {"contact": {"email": "a@example.com", "list_ids": [lst["id"]]}})
    got = await call(client, "get_folders", {})
    assert got["folders"][0]["list_count"] == 1
    assert got["folders"][0]["lists"] == [{"id": lst["id"], "name": "A", "subscribers": 1}]
    by_id = await call(client, "get_folders", {"folder_ids": [f["id"], 9]})
    assert by_id["not_found"] == [9] and c["outcome"] == "created"
