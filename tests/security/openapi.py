"""Valid requests for any operation of the OpenAPI document (the smallest that pass validation).

The authorization checks must reach the credential check, not stop at input validation, so each
operation is called with a body and query built from its own documented schema.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

ANY_UUID = "5b0c2b1e-9f2a-4c53-9d0e-3f1a2b4c5d6e"
STRING_FORMATS = {
    "date-time": "2026-11-20T08:00:00+00:00",
    "date": "2026-11-20",
    "uuid": ANY_UUID,
    "email": "a@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
}


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A small value that satisfies `schema` (required properties only)."""
    schema = resolve(doc, schema)
    for key in ("example", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(doc, part)
            merged.update(value if isinstance(value, dict) else {})
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return example(doc, schema[key][0])
    kind = schema.get("type", "object")
    if kind == "string":
        if schema.get("format") in STRING_FORMATS:
            return STRING_FORMATS[schema["format"]]
        length = max(int(schema.get("minLength", 1)), 1)
        text = "a1" * length
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, text[:max(length, 2)]):
            text = "1" * length
        return text[:max(length, 2)][: schema.get("maxLength", 10**6)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 1)
        high = schema.get("maximum", max(low, 1))
        return min(max(1, low), high)
    if kind == "boolean":
        return True
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [example(doc, schema.get("items", {})) for _ in range(count)]
    return {name: example(doc, sub) for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])}


def request_for(doc: dict[str, Any], method: str, path: str, op: dict[str, Any],
                values: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for `client.open`: URL with path values, query, JSON body."""
    values = values or {}
    url, query = path, {}
    for param in op.get("parameters", []):
        param = resolve(doc, param)
        where, name = param["in"], param["name"]
        if where == "path":
            value = values.get(name) or str(example(doc, param.get("schema", {})))
            url = url.replace("{" + name + "}", quote(value, safe=""))
        elif where == "query" and param.get("required"):
            query[name] = example(doc, param.get("schema", {}))
    kwargs: dict[str, Any] = {"path": url, "method": method, "query_string": query}
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        kwargs["json"] = example(doc, content["application/json"].get("schema", {}))
    return kwargs


def path_params(op: dict[str, Any]) -> list[str]:
    return [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
