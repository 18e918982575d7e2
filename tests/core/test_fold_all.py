"""fold_all folds a column of texts at once (SQLite's stored folds of an import batch): it must give exactly what
fold gives each value, whatever the texts (accents, Greek final sigma, the separator it joins on, blanks)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from contacts_mcp.storage.tree import FOLD_FROM, fold, fold_all

# Letters folding treats specially, the separator fold_all joins on, and ordinary text around them.
SPECIAL = FOLD_FROM + FOLD_FROM.upper() + "ΣσςİIıẞß\x1f\x1e -'"
texts = st.one_of(st.none(), st.just(""), st.text(alphabet=st.sampled_from(SPECIAL), max_size=8), st.text(max_size=12))


@given(st.lists(texts, max_size=30))
def test_a_column_folded_at_once_is_each_value_folded(values):
    assert fold_all(values) == [fold(v) for v in values]


def test_greek_final_sigma_ends_at_each_value_as_at_the_end_of_a_text():
    values = ["ΟΔΟΣ", "ΣΑΣ", None, "ΑΣ Β"]
    assert fold_all(values) == ["οδος", "σας", None, "ας β"] == [fold(v) for v in values]
