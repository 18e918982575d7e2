import pytest
from pydantic import BaseModel

from contacts_mcp.core.errors import InvalidInput
from contacts_mcp.core.pagination import by_ids, decode_cursor, encode_cursor, page


class Item(BaseModel):
    id: int
    text: str = ""


def test_a_cursor_round_trips_for_the_same_query():
    cursor = encode_cursor(42, {"list_id": 3})
    assert decode_cursor(cursor, {"list_id": 3}) == 42


def test_a_cursor_reused_with_other_filters_is_refused():
    cursor = encode_cursor(42, {"list_id": 3})
    with pytest.raises(InvalidInput, match="other filters"):
        decode_cursor(cursor, {"list_id": 4})


@pytest.mark.parametrize("junk", ["abc", "!!!", "eyJhIjogIngifQ"])
def test_a_forged_cursor_is_refused_with_how_to_fix_it(junk):
    with pytest.raises(InvalidInput, match="next_cursor"):
        decode_cursor(junk, {})


def test_a_full_page_has_a_cursor_and_the_last_page_has_none():
    items = [Item(id=i) for i in range(1, 12)]
    kept, cursor = page(items, limit=10, key=lambda x: x.id, query={})
    assert [x.id for x in kept] == list(range(1, 11))
    assert decode_cursor(cursor, {}) == 10
    kept, cursor = page(items[:5], limit=10, key=lambda x: x.id, query={})
    assert len(kept) == 5 and cursor is None


def test_a_page_that_would_outgrow_the_budget_ends_early_and_resumes_after_its_last_item():
    items = [Item(id=i, text="x" * 1000) for i in range(1, 51)]
    kept, cursor = page(items, limit=50, key=lambda x: x.id, query={}, budget=5000)
    assert 1 <= len(kept) < 50
    assert decode_cursor(cursor, {}) == kept[-1].id


def test_items_read_by_id_that_do_not_fit_are_named_in_a_note():
    items = [Item(id=i, text="x" * 10_000) for i in range(1, 6)]
    kept, note = by_ids(items, key=lambda x: x.id)
    assert len(kept) < 5
    assert str(items[-1].id) in note
