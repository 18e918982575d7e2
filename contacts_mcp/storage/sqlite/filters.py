"""Filters compiled to SQL: a tree from core (storage/tree.py) to one parameterised condition on `c`.

Column names come from tree.COLUMNS, custom field names are bound as parameters (Session._attribute),
values are always parameters: nothing a caller writes becomes SQL text. Both backends compile with this
code; what they spell differently (a custom field's typed value, an email's domain) are Session hooks.

Text compares folded (tree.fold: case and accents): the value folded here, the column by the database's
contacts_fold(); the common fields are indexed folded (SQLite: stored beside them, migration 016;
PostgreSQL: an index on contacts_fold(column), migration 006).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tree import COLUMNS, All, Any_, Cond, Node, Not, fold
from .session import GROUP_TABLES, Session, like_pattern

_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
# Columns indexed folded (SQLite migration 016, PostgreSQL 006).
_INDEXED = ("city", "company", "postal_code")


def _prefix_pattern(text: str) -> str:
    return like_pattern(text)[1:]  # "%x%" -> "x%"


class FilterSql(Session):
    FOLD = "contacts_fold"

    def _account_term(self, node: Node | None = None) -> str:
        """`c` is this account's contact, for a statement reading the contacts a filter (or nothing) selects.
        SQLite, left to itself, may read a whole account through any index that starts with account_id (every
        one does), a row at a time in that index's order: measured 3.0 s for a million contacts, against 0.9 s
        reading the table in order. "+" keeps the term off the indexes, unless the filter has a condition one
        serves (city, company or postal code by eq or in)."""
        parts = node.parts if isinstance(node, All) else (node,)
        if any(isinstance(p, Cond) and p.column in _INDEXED and p.kind == "text" and p.op in ("eq", "in")
               for p in parts):
            return "c.account_id = ?"
        return "+c.account_id = ?"

    def _where(self, node: Node) -> tuple[str, list[Any]]:
        """One condition on `c` (a two-valued SQL boolean) and its parameters."""
        if isinstance(node, All | Any_):
            if not node.parts:
                return ("1 = 1" if isinstance(node, All) else "1 = 0"), []
            parts = [self._where(p) for p in node.parts]
            joiner = " AND " if isinstance(node, All) else " OR "
            return "(" + joiner.join(sql for sql, _ in parts) + ")", [v for _, ps in parts for v in ps]
        if isinstance(node, Not):
            sql, params = self._where(node.part)
            return f"NOT {sql}", params
        return self._cond(node)

    def _cond(self, c: Cond) -> tuple[str, list[Any]]:
        if c.group is not None:
            _, members, column = GROUP_TABLES[c.group]
            ors, params = [], []
            for cond, part in self._in(list(c.values), "bigint"):
                ors.append(f"c.id IN (SELECT contact_id FROM {members} WHERE {column} {cond})")
                params += part
            return "(" + " OR ".join(ors) + ")", params
        expr, eparams = self._expression(c)
        values = [fold(v) for v in c.values] if c.kind == "text" else list(c.values)
        lhs = expr
        if c.kind == "text":
            stored = c.attribute is None and c.column in self.FOLDED_COLUMNS
            lhs = f"c.{c.column}_folded" if stored else f"{self.FOLD}({expr})"
        # `expr IS NOT NULL AND …`: an absent value makes the condition false, not unknown (see tree.py).
        known = f"{expr} IS NOT NULL"
        op = c.op
        if op == "is_set":
            empty = f" AND {expr} <> ''" if c.kind in ("text", "exact") else ""
            return f"({known}{empty})", eparams * (2 if empty else 1)
        if op == "any_bit":
            return f"({expr} & ?) <> 0", [*eparams, values[0]]
        if op == "no_bit":
            return f"({expr} & ?) = 0", [*eparams, values[0]]
        if op == "in":
            ors, tested = [], []
            for cond, part in self._in(values, "numeric" if c.kind == "number" else "text"):
                ors.append(f"{lhs} {cond}")
                tested += [*eparams, *part]
            test = "(" + " OR ".join(ors) + ")"
        else:
            if op == "eq":
                test, args = f"{lhs} = ?", values[:1]
            elif op in ("contains", "starts_with"):
                pattern = (like_pattern if op == "contains" else _prefix_pattern)(str(values[0]))
                test, args = f"{lhs} LIKE ? ESCAPE '\\'", [pattern]
            elif op == "between":
                test, args = f"{lhs} BETWEEN ? AND ?", values[:2]
            else:
                test, args = f"{lhs} {_COMPARE[op]} ?", values[:1]
            tested = [*eparams, *args]
        return f"({known} AND {test})", [*eparams, *tested]

    def _expression(self, c: Cond) -> tuple[str, list[Any]]:
        if c.attribute is not None:
            return self._attribute(c.attribute, c.kind)
        if c.column not in COLUMNS:
            raise ValueError(f"not a filterable column: {c.column}")
        if c.column == "email_domain":
            return self.EMAIL_DOMAIN, []
        return f"c.{c.column}", []

    # ------------------------------------------------------------ what filters read

    def filter_ids(self, node: Node, *, after_id: int, limit: int, deleted: bool = False) -> Sequence[int]:
        """Ids of the contacts that match, in rising order after `after_id` (deleted ones only if asked)."""
        sql, params = self._where(node)
        state = "" if deleted else "AND c.deleted_at IS NULL "
        return [r[0] for r in self._conn.execute(
            f"SELECT c.id FROM contacts c WHERE {self._account_term(node)} {state}AND c.id > ? AND {sql} ORDER BY c.id "
            "LIMIT ?",
            [self.account_id, after_id, *params, limit]).fetchall()]

    def filter_fingerprint(self, node: Node) -> tuple[int, int, int]:
        """Which contacts (not deleted) match, in three numbers: how many, and two sums of their ids; another
        set of contacts gives other numbers (a plan token is bound to them: core/plans.py)."""
        sql, params = self._where(node)
        row = self._conn.execute(
            # the second sum is of squares (another set with the same count and sum has other squares), its
            # terms below 10^6 whatever the id (no overflow in either database)
            "SELECT COUNT(*), COALESCE(SUM(c.id), 0), "
            "COALESCE(SUM((c.id % 1000003) * (c.id % 1000003) % 1000003), 0) "
            f"FROM contacts c WHERE {self._account_term(node)} AND c.deleted_at IS NULL AND {sql}",
            [self.account_id, *params]).fetchall()[0]
        return int(row[0]), int(row[1]), int(row[2])

    def plan_used(self, nonce: str) -> bool:
        return self._value("SELECT 1 FROM used_plans WHERE account_id = ? AND nonce = ?", [self.account_id, nonce]) == 1


class PlanWrites(FilterSql):
    def use_plan(self, nonce: str, expires_at: str, now: str) -> None:
        """Record a plan token as carried out (until it expires; expired ones are forgotten here)."""
        self._run("DELETE FROM used_plans WHERE account_id = ? AND expires_at < ?", [self.account_id, now])
        self._run("INSERT INTO used_plans (account_id, nonce, expires_at) VALUES (?, ?, ?)",
                  [self.account_id, nonce, expires_at])
