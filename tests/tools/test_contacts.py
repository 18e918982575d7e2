"""create_contact (and its update by id), get_contacts, upsert_contacts, delete_contacts through an MCP client."""

from ..conftest import call, fails


async def create(client, **fields):
    return await call(client, "create_contact", {"contact": fields})


async def test_creating_the_same_email_in_another_case_updates_the_one_contact(client):
    first = await create(client, email="Ann.Lee@Example.com", first_name="Ann")
    second = await create(client, email="ANN.LEE@example.COM", last_name="Lee")
    assert first["outcome"] == "created" and second["outcome"] == "updated"
    assert second["contact"]["id"] == first["contact"]["id"]
    assert second["contact"]["first_name"] == "Ann" and second["contact"]["last_name"] == "Lee"
    page = await call(client, "get_contacts", {})
    assert len(page["contacts"]) == 1


async def test_a_mobile_in_national_form_matches_the_same_number_stored_in_e164(client):
    first = await create(client, mobile="+33 6 12 34 56 78")
    second = await create(client, mobile="06.12.34.56.78", city="Lyon")
    assert second["outcome"] == "updated" and second["contact"]["id"] == first["contact"]["id"]
    assert second["contact"]["mobile"] == "+33612345678"


async def test_ext_id_wins_over_email_when_matching(client):
    a = await create(client, ext_id="crm-1", email="a@example.com")
    b = await create(client, ext_id="crm-1", email="a.new@example.com")
    assert b["contact"]["id"] == a["contact"]["id"]
    assert b["contact"]["email"] == "a.new@example.com"


async def test_create_only_reports_the_duplicate_with_its_id_instead_of_updating(client):
    a = await create(client, email="a@example.com")
    text = await fails(client, "create_contact", {"contact": {"email": "A@example.com", "city": "Paris"},
                                                  "update_enabled": False})
    assert f"id {a['contact']['id']}" in text and "update_enabled=true" in text
    got = await call(client, "get_contacts", {"contact_ids": [a["contact"]["id"]]})
    assert "city" not in got["contacts"][0]


async def test_malformed_email_is_refused_naming_the_field(client):
    text = await fails(client, "create_contact", {"contact": {"email": "ann.example.com"}})
    assert "email" in text and "'ann.example.com'" in text
    assert (await call(client, "get_contacts", {}))["contacts"] == []


async def test_unparseable_phone_is_refused_naming_the_field(client):
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "mobile": "06 12"}})
    assert "mobile" in text and "+33612345678" in text


async def test_a_landline_given_as_mobile_is_refused_suggesting_fixed_phone(client):
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "mobile": "01 42 68 53 00"}})
    assert "mobile" in text and "landline" in text and "fixed_phone" in text
    kept = await call(client, "create_contact", {"contact": {"email": "a@example.com", "fixed_phone": "01 42 68 53 00",
                                                              "mobile": "+1 415 555 2671"}})  # US: fixed or mobile
    assert kept["contact"]["fixed_phone"] == "+33142685300" and kept["contact"]["mobile"] == "+14155552671"
    bulk = await call(client, "upsert_contacts", {"contacts": [{"email": "b@example.com", "mobile": "0800 123 456"}]})
    assert bulk["failed"] == 1 and "toll-free" in bulk["items"][0]["error"]
    stats = (await call(client, "get_stats", {}))["stats"]
    assert stats["reachable"]["sms"] == 1


async def test_a_landline_in_an_imported_mobile_column_is_an_invalid_line(client):
    job = await call(client, "import_file", {"wait_seconds": 30, "csv_text":
                                             "email,mobile\na@example.com,0142685300\nb@example.com,0612345678\n"})
    assert job["created"] == 1 and job["invalid"] == 1
    report = (await client.read_resource(job["error_report"] + ".csv")).contents[0].text
    assert "landline" in report and "fixed_phone" in report


async def test_an_international_number_without_its_plus_is_read_as_international(client):
    got = await call(client, "create_contact", {"contact": {"mobile": "380942583691"}})
    assert got["contact"]["mobile"] == "+380942583691"
    national = await call(client, "create_contact", {"contact": {"mobile": "612345678"}})  # national first
    assert national["contact"]["mobile"] == "+33612345678"


async def test_unknown_fields_are_refused_by_name(client):
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "shoe_size": 42}})
    assert "shoe_size" in text


async def test_a_contact_needs_an_identity(client):
    text = await fails(client, "create_contact", {"contact": {"first_name": "Nobody"}})
    assert "email, mobile or ext_id" in text


async def test_an_ext_id_held_by_another_contact_is_refused_naming_that_contact(client):
    a = await create(client, ext_id="crm-1", email="a@example.com")
    b = await create(client, email="b@example.com")
    text = await fails(client, "create_contact", {"contact_id": b["contact"]["id"], "contact": {"ext_id": "crm-1"}})
    assert f"contact {a['contact']['id']}" in text and "ext_id" in text


async def test_an_email_matching_a_contact_with_another_ext_id_is_a_conflict_not_a_merge(client):
    await create(client, ext_id="crm-1", email="a@example.com")
    text = await fails(client, "create_contact", {"contact": {"ext_id": "crm-2", "email": "a@example.com"}})
    assert "'crm-1'" in text and "'crm-2'" in text
    assert len((await call(client, "get_contacts", {}))["contacts"]) == 1


async def test_identities_of_two_different_contacts_in_one_create_are_refused(client):
    await create(client, email="a@example.com")
    b = await create(client, mobile="0612345678")
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "mobile": "0612345678"}})
    assert f"contact {b['contact']['id']}" in text


async def fields(client, **types):
    for name, type_ in types.items():
        await call(client, "manage_fields", {"action": "create", "name": name, "type": type_})


async def test_empty_values_leave_stored_values_unless_erase_is_asked(client):
    await fields(client, tier="text", score="number")
    a = await create(client, email="a@example.com", city="Paris", attributes={"tier": "gold", "score": 3})
    cid = a["contact"]["id"]
    kept = await call(client, "create_contact", {"contact_id": cid, "contact": {"city": "", "attributes": {"tier": None}}})
    assert kept["outcome"] == "unchanged"
    assert kept["contact"]["city"] == "Paris" and kept["contact"]["attributes"] == {"tier": "gold", "score": 3}
    erased = await call(client, "create_contact", {"contact_id": cid, "contact": {"city": "", "attributes": {"tier": None}},
                                                   "empty_values_erase": True})
    assert erased["outcome"] == "updated"
    assert "city" not in erased["contact"] and erased["contact"]["attributes"] == {"score": 3}


async def test_attributes_are_merged_not_replaced(client):
    await fields(client, tier="text", score="number")
    a = await create(client, email="a@example.com", attributes={"tier": "gold"})
    b = await create(client, email="a@example.com", attributes={"score": 7})
    assert b["contact"]["attributes"] == {"tier": "gold", "score": 7}
    assert a["contact"]["id"] == b["contact"]["id"]


async def test_attributes_must_be_custom_fields_and_are_checked_against_their_type(client):
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "attributes": {"tier": "x"}}})
    assert "attributes.tier" in text and "manage_fields" in text
    await fields(client, score="number", vip="boolean", joined="date")
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "attributes": {"score": "high"}}})
    assert "attributes.score" in text and "not a number" in text
    ok = await create(client, email="a@example.com", attributes={"score": "3,5", "vip": "oui", "joined": "31/01/2026"})
    assert ok["contact"]["attributes"] == {"score": 3.5, "vip": True, "joined": "2026-01-31"}


async def test_joining_an_unknown_list_fails_and_creates_nothing(client):
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "list_ids": [404]}})
    assert "404" in text and "get_lists" in text
    assert (await call(client, "get_contacts", {"emails": ["a@example.com"]}))["not_found"] == ["a@example.com"]


async def test_blacklist_flags_record_opt_outs_that_a_false_flag_does_not_lift(client):
    a = await create(client, email="a@example.com", mobile="0612345678", email_blacklisted=True, sms_blacklisted=True)
    assert a["contact"]["opted_out"] == ["email", "sms"]
    again = await create(client, email="a@example.com", email_blacklisted=False, sms_blacklisted=False)
    assert again["contact"]["opted_out"] == ["email", "sms"]


async def test_an_email_opt_out_follows_the_address_to_a_contact_created_later(client):
    a = await create(client, email="a@example.com", email_blacklisted=True)
    await call(client, "create_contact", {"contact_id": a["contact"]["id"], "contact": {"email": "other@example.com"}})
    b = await create(client, email="A@example.com")
    assert b["contact"]["id"] != a["contact"]["id"]
    assert b["contact"]["opted_out"] == ["email"]


async def test_deleting_and_restoring_contacts_reports_changes_and_unknown_ids(client):
    a = await create(client, email="a@example.com")
    cid = a["contact"]["id"]
    deleted = await call(client, "delete_contacts", {"contact_ids": [cid, 999]})
    assert deleted == {"changed": 1, "not_found": [999]}
    assert (await call(client, "get_contacts", {}))["contacts"] == []
    only = await call(client, "get_contacts", {"deleted": "only"})
    assert [c["id"] for c in only["contacts"]] == [cid] and "deleted_at" in only["contacts"][0]
    assert (await call(client, "delete_contacts", {"contact_ids": [cid]}))["changed"] == 0
    restored = await call(client, "delete_contacts", {"contact_ids": [cid], "action": "restore"})
    assert restored["changed"] == 1
    assert [c["id"] for c in (await call(client, "get_contacts", {}))["contacts"]] == [cid]


async def test_creating_a_deleted_contact_again_restores_it_with_its_opt_outs_only_when_asked(client):
    a = await create(client, email="a@example.com", sms_blacklisted=True, mobile="0612345678")
    await call(client, "delete_contacts", {"contact_ids": [a["contact"]["id"]]})
    text = await fails(client, "create_contact", {"contact": {"email": "a@example.com", "first_name": "Back"}})
    assert "deleted; pass restore_deleted" in text and str(a["contact"]["id"]) in text
    still = await call(client, "get_contacts", {"contact_ids": [a["contact"]["id"]], "deleted": "include"})
    assert still["contacts"][0]["deleted_at"] and "first_name" not in still["contacts"][0]
    b = await call(client, "create_contact", {"contact": {"email": "a@example.com", "first_name": "Back"},
                                              "restore_deleted": True})
    assert b["contact"]["id"] == a["contact"]["id"] and "deleted_at" not in b["contact"]
    assert b["contact"]["opted_out"] == ["sms"]


async def test_bulk_import_and_subscribe_leave_a_deleted_match_alone_unless_restore_deleted(client):
    ids = [(await create(client, email=f"d{i}@example.com"))["contact"]["id"] for i in range(3)]
    await call(client, "delete_contacts", {"contact_ids": ids})
    bulk = await call(client, "upsert_contacts", {"contacts": [{"email": "d0@example.com", "city": "Lyon"}]})
    assert bulk["failed"] == 1 and "deleted; pass restore_deleted" in bulk["items"][0]["error"]
    job = await call(client, "import_file", {"csv_text": "email,city\nd1@example.com,Lyon\n", "wait_seconds": 30})
    assert job["created"] == job["updated"] == 0
    report = (await client.read_resource(job["error_report"] + ".csv")).contents[0].text
    assert "deleted; pass restore_deleted" in report
    text = await fails(client, "subscribe_contact", {"contact": {"email": "d2@example.com"}})
    assert "restore_deleted" in text
    assert (await call(client, "get_stats", {}))["stats"]["subscribers"] == 0
    bulk = await call(client, "upsert_contacts", {"contacts": [{"email": "d0@example.com"}], "restore_deleted": True})
    job = await call(client, "import_file", {"csv_text": "email\nd1@example.com\n", "wait_seconds": 30,
                                             "restore_deleted": True})
    sub = await call(client, "subscribe_contact", {"contact": {"email": "d2@example.com"}, "restore_deleted": True})
    assert bulk["updated"] == 1 and job["updated"] == 1 and sub["contact"]["id"] == ids[2]
    assert (await call(client, "get_stats", {}))["stats"]["subscribers"] == 3


async def test_lookups_by_each_identity_return_contacts_and_name_what_is_unknown(client):
    a = await create(client, ext_id="crm-1", email="a@example.com", mobile="0612345678")
    cid = a["contact"]["id"]
    got = await call(client, "get_contacts", {"contact_ids": [cid, 77], "ext_ids": ["crm-1", "crm-9"],
                                              "emails": ["A@EXAMPLE.COM", "nobody@example.com", "bad"],
                                              "mobiles": ["+33 6 12 34 56 78"]})
    assert [c["id"] for c in got["contacts"]] == [cid]
    assert got["not_found"] == [77, "crm-9", "nobody@example.com", "bad"]


async def test_listing_filters_by_list_search_and_creation_time(client):
    lst = (await call(client, "manage_lists", {"action": "create", "name": "VIP"}))["list"]
    a = await create(client, email="ann@example.com", first_name="Ann", list_ids=[lst["id"]])
    b = await create(client, email="bob@example.com", first_name="Bob", company="Acme")
    in_list = await call(client, "get_contacts", {"list_id": lst["id"]})
    assert [c["id"] for c in in_list["contacts"]] == [a["contact"]["id"]]
    assert [c["id"] for c in (await call(client, "get_contacts", {"search": "acme"}))["contacts"]] == \
        [b["contact"]["id"]]
    since = await call(client, "get_contacts", {"created_since": b["contact"]["created_at"]})
    assert [c["id"] for c in since["contacts"]] == [b["contact"]["id"]]
    assert "404" in await fails(client, "get_contacts", {"list_id": 404})


async def test_search_finds_a_mobile_typed_in_national_form(client):
    a = await create(client, mobile="+33612345678")
    got = await call(client, "get_contacts", {"search": "06 12 34 56 78"})
    assert [c["id"] for c in got["contacts"]] == [a["contact"]["id"]]


async def test_pages_cover_every_contact_once_in_both_sort_orders(client):
    items = [{"email": f"p{i}@example.com"} for i in range(120)]
    await call(client, "upsert_contacts", {"contacts": items})
    for sort in ("desc", "asc"):
        seen, cursor = [], None
        while True:
            args = {"limit": 50, "sort": sort} | ({"cursor": cursor} if cursor else {})
            page = await call(client, "get_contacts", args)
            seen += [c["id"] for c in page["contacts"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        assert len(seen) == 120 == len(set(seen))
        assert seen == sorted(seen, reverse=sort == "desc")


async def test_a_cursor_from_another_query_is_refused(client):
    await call(client, "upsert_contacts", {"contacts": [{"email": f"p{i}@example.com"} for i in range(3)]})
    cursor = (await call(client, "get_contacts", {"limit": 1}))["next_cursor"]
    assert "other filters" in await fails(client, "get_contacts", {"limit": 1, "cursor": cursor, "sort": "asc"})


async def test_bulk_upsert_reports_each_contact_and_one_failure_does_not_stop_the_others(client):
    await create(client, email="known@example.com", city="Paris")
    result = await call(client, "upsert_contacts", {"contacts": [
        {"email": "new@example.com"},
        {"email": "not-an-email"},
        {"email": "KNOWN@example.com", "city": "Lyon"},
        {"email": "x@example.com", "list_ids": [404]},
        {"first_name": "no key"},
    ]})
    assert (result["created"], result["updated"], result["failed"]) == (1, 1, 3)
    outcomes = [(i["index"], i["outcome"]) for i in result["items"]]
    assert outcomes == [(0, "created"), (1, "failed"), (2, "updated"), (3, "failed"), (4, "failed")]
    errors = {i["index"]: i["error"] for i in result["items"] if i["outcome"] == "failed"}
    assert "not-an-email" in errors[1] and "404" in errors[3] and "dedupe_on" in errors[4]
    assert (await call(client, "get_contacts", {"emails": ["x@example.com"]}))["not_found"] == ["x@example.com"]


async def test_bulk_upsert_can_deduplicate_on_mobile(client):
    a = await create(client, mobile="0612345678", email="a@example.com")
    result = await call(client, "upsert_contacts", {"dedupe_on": "mobile",
                                                    "contacts": [{"mobile": "+33612345678", "city": "Nice"}]})
    assert result["items"] == [{"index": 0, "outcome": "updated", "id": a["contact"]["id"]}]


async def test_bulk_upsert_of_3000_contacts_works_and_3001_is_refused_with_the_limit(client):
    text = await fails(client, "upsert_contacts", {"contacts": [{"email": f"c{i}@example.com"} for i in range(3001)]})
    assert "3,000" in text and "3,001" in text
    result = await call(client, "upsert_contacts", {"contacts": [{"email": f"c{i}@example.com"} for i in range(3000)]})
    assert result["created"] == 3000
    assert "items" not in result and "get_contacts" in result["note"]


async def test_bulk_upsert_can_leave_lists(client):
    lst = (await call(client, "manage_lists", {"action": "create", "name": "L"}))["list"]
    a = await create(client, email="a@example.com", list_ids=[lst["id"]])
    await call(client, "upsert_contacts", {"contacts": [{"email": "a@example.com", "unlink_list_ids": [lst["id"]]}]})
    got = await call(client, "get_contacts", {"contact_ids": [a["contact"]["id"]]})
    assert "list_ids" not in got["contacts"][0]


async def test_every_invalid_field_is_named_in_one_error(client):
    text = await fails(client, "create_contact", {"contact": {"email": "nope", "mobile": "12", "birth_date": "soon"}})
    assert "email:" in text and "mobile:" in text and "birth_date:" in text


async def test_a_listing_counts_all_its_matches_when_asked_and_pages_by_offset(client):
    ids = [(await create(client, email=f"t{i}@example.com", city="Lyon" if i % 2 else "Paris"))["contact"]["id"]
           for i in range(7)]
    got = await call(client, "get_contacts", {"search": "t", "limit": 2, "with_total": True, "sort": "asc"})
    assert got["total"] == 7 and [c["id"] for c in got["contacts"]] == ids[:2]
    deleted = await call(client, "get_contacts", {"deleted": "only", "with_total": True})
    assert deleted["total"] == 0 and deleted["contacts"] == []
    by_offset = await call(client, "get_contacts", {"sort": "asc", "offset": 5, "limit": 10})
    assert [c["id"] for c in by_offset["contacts"]] == ids[5:] and "next_cursor" not in by_offset
    follow = await call(client, "get_contacts", {"sort": "asc", "offset": 4, "limit": 2})
    assert [c["id"] for c in follow["contacts"]] == ids[4:6]
    after = await call(client, "get_contacts", {"sort": "asc", "limit": 2, "cursor": follow["next_cursor"]})
    assert [c["id"] for c in after["contacts"]] == ids[6:]


async def test_updating_a_deleted_contact_by_id_leaves_it_deleted_unless_restore_deleted(client):
    a = await create(client, email="gone@example.com")
    cid = a["contact"]["id"]
    await call(client, "delete_contacts", {"contact_ids": [cid]})
    text = await fails(client, "create_contact", {"contact_id": cid, "contact": {"first_name": "Back"}})
    assert "deleted; pass restore_deleted" in text and str(cid) in text
    still = await call(client, "get_contacts", {"contact_ids": [cid]})
    assert still["contacts"][0]["deleted_at"] and "first_name" not in still["contacts"][0]
    assert (await call(client, "get_stats", {}))["stats"]["subscribers"] == 0
    back = await call(client, "create_contact", {"contact_id": cid, "contact": {"first_name": "Back"},
                                                 "restore_deleted": True})
    assert back["contact"]["first_name"] == "Back" and "deleted_at" not in back["contact"]
    assert (await call(client, "get_stats", {}))["stats"]["subscribers"] == 1


async def test_search_ignores_the_case_of_accented_letters_on_every_backend(client):
    # SQLite's lower() folds ASCII letters only, PostgreSQL's every letter: "émile" found "Émile" on one only.
    a = await create(client, email="e@example.com", first_name="Émile", company="Société Œuvre")
    for term in ("émile", "ÉMILE", "SOCIÉTÉ", "œuvre"):
        got = await call(client, "get_contacts", {"search": term})
        assert [c["id"] for c in got["contacts"]] == [a["contact"]["id"]], term
