"""Trims the JSON schemas pydantic generates before an assistant sees them.

Every tool's input and output schema is sent to the model on each tools/list, so its size is paid in
every conversation. Pydantic adds a title to each field, spells optional fields as anyOf [X, null] with
a default of null, and repeats the same shapes; none of it tells the model anything. Arguments are still
validated by pydantic (which accepts null for optional fields), and results never carry nulls (see
core.models.Out), so the trimmed schemas describe the same data.
"""

from typing import Any

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SUBSCHEMAS = ("items", "additionalProperties", "not")


def compact_schema(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    node = dict(schema)
    if isinstance(node.get("title"), str):
        del node["title"]
    if "default" in node and node["default"] is None:
        del node["default"]
    for key in _SUBSCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {name: compact_schema(sub) for name, sub in node[key].items()}
    for key in _SUBSCHEMAS:
        if isinstance(node.get(key), dict):
            node[key] = compact_schema(node[key])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [compact_schema(sub) for sub in node[key]]
    variants = node.get("anyOf")
    if isinstance(variants, list):
        kept = [v for v in variants if v != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(variants):
            del node["anyOf"]
            node = {**kept[0], **node}
    return node


def summarise_output(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """An output schema whose top-level fields stay typed while nested records become plain objects
    described in words (their model's docstring). The assistant reads results when it gets them; what it
    needs up front is what a tool returns, not every nested field's type."""
    if schema is None:
        return None
    defs = schema.get("$defs", {})

    def shallow(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
            out = {"type": "object"}
            text = node.get("description") or target.get("description")
            return {**out, "description": text} if text else out
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            return {**node, "items": shallow(node["items"])}
        for key in ("anyOf", "oneOf"):
            if key in node:
                return {**node, key: [shallow(v) for v in node[key]]}
        return node

    top = {k: v for k, v in schema.items() if k != "$defs"}
    top["properties"] = {name: shallow(sub) for name, sub in schema.get("properties", {}).items()}
    return top
