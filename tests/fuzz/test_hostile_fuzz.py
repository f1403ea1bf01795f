"""Hostile input in every field of every operation: zero 5xx, every refusal problem+json.

For each operation of /openapi.json, each of its fields (body properties at any depth, query and
path parameters, and the whole body of a write) receives a value of every class in
`tests.fuzz.hostile` (surrogates, NUL, control characters, deep nesting, huge and tiny numbers,
edge dates, wrong JSON types, duplicate keys), the rest of the request valid, with the valid
credential of the operation's caller; each body goes chunked or with a Content-Length, drawn.

Bounded for CI: PENGCHENG_HOSTILE_EXAMPLES (default 3) rounds of every field x every class per
operation (~1,500 requests a round; hypothesis's first round is its simplest values). Bodies
alternate between chunked and a declared Content-Length. The counts by class are printed at the
end of the run (docs/RELIABILITY.md records them).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.hostile import CLASSES, STRATEGIES, Hostile
from tests.fuzz.test_openapi_fuzz import FRESH_BORN, SELF_DESTRUCTIVE, TOKEN_FOR, live_token
from tests.security.actors import operations, scheme_of
from tests.security.estate import Estate
from tests.security.openapi import example, resolve
from tests.support.factories import bearer, id_number

EXAMPLES = int(os.environ.get("PENGCHENG_HOSTILE_EXAMPLES", "3"))
PROBLEM = "application/problem+json"
PLACE = "\ue000hostile\ue000"  # stands for a raw JSON fragment until the body is text
_fresh = itertools.count(500)


def body_fields(document: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of every property of a body schema, nested objects included."""
    schema = resolve(document, schema)
    out: list[str] = []
    for part in schema.get("allOf", []) + schema.get("anyOf", []):
        out += body_fields(document, part, prefix)
    for name, sub in schema.get("properties", {}).items():
        out.append(prefix + name)
        sub = resolve(document, sub)
        if sub.get("properties") or sub.get("allOf") or sub.get("anyOf"):
            out += body_fields(document, sub, f"{prefix}{name}.")
    return out


class Dup(dict):
    """An object that serialises one key twice: its own value, then the hostile one."""

    def __init__(self, base: dict[str, Any], key: str, value: Any) -> None:
        super().__init__(base)
        self.extra = (key, value)

    def items(self) -> Any:  # json.dumps reads a dict subclass through items()
        return [*super().items(), self.extra]


class Target:
    """One operation, ready to be called with a hostile value in one of its fields."""

    def __init__(self, document: dict[str, Any], estate: Estate, method: str, path: str,
                 op: dict[str, Any]) -> None:
        self.estate, self.method, self.path, self.op = estate, method, path, op
        self.scheme = scheme_of(op)
        params = [resolve(document, p) for p in op.get("parameters", [])]
        self.path_params = {p["name"]: self._real(p["name"], document, p) for p in params
                            if p["in"] == "path"}
        self.query = {p["name"]: example(document, p.get("schema", {})) for p in params
                      if p["in"] == "query" and p.get("required")}
        self.query_names = [p["name"] for p in params if p["in"] == "query"]
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        self.body_schema = content.get("schema", {}) if content else None
        self.body = example(document, self.body_schema) if content else None
        self.fields = ([f"path:{n}" for n in self.path_params]
                       + [f"query:{n}" for n in self.query_names]
                       + ([f"body:{f}" for f in body_fields(document, self.body_schema)]
                          if content else [])
                       + (["body:(body)"] if method != "GET" else []))

    def _real(self, name: str, document: dict[str, Any], param: dict[str, Any]) -> str:
        # Operators may change the scenario they name: not one the partner writes need tokens for.
        scenario = "scenic_discount" if self.path.startswith("/admin/") else "medical_credit"
        values = {**self.estate.ids, "client_id": self.estate.partners["merchant"][0].client_id,
                  "code": scenario}
        return str(values.get(name) or example(document, param.get("schema", {})))

    def headers(self) -> dict[str, str]:
        if (self.method, self.path) in SELF_DESTRUCTIVE:
            n = next(_fresh)
            response = self.estate.client.post("/api/v1/auth/session", json={
                "assertion": self.estate.idp.assertion(id_number(n % 1000, FRESH_BORN), "某")})
            assert response.status_code == 201, response.get_json()
            return bearer(response.get_json()["token"])
        return self.estate.headers(self.method, self.path, self.scheme)

    def fresh_body(self) -> Any:
        body = json.loads(json.dumps(self.body))
        if isinstance(body, dict) and "token" in body:
            for prefix, scenario, kind in TOKEN_FOR:
                if self.path.startswith(prefix):
                    body["token"] = live_token(self.estate, scenario, kind)
        return body

    def call(self, field: str, hostile: Hostile, chunked: bool) -> Any:
        where, name = field.split(":", 1)
        path_values = dict(self.path_params)
        query: list[tuple[str, str]] = [(k, str(v)) for k, v in self.query.items()]
        body = self.fresh_body() if self.body is not None else None
        if where == "path":
            path_values[name] = hostile.query_text()
        elif where == "query":
            query = [(k, v) for k, v in query if k != name] + [(name, hostile.query_text())]
            if hostile.kind == "duplicate_key":
                query.append((name, "x"))
        elif name == "(body)":
            body = {"a": 1, "b": Dup({}, "b", 2)} if hostile.kind == "duplicate_key" else (
                PLACE if hostile.raw is not None else hostile.value)
        else:
            body = self._place(body if isinstance(body, dict) else {}, name, hostile)
        url = self.path
        for key, value in path_values.items():
            url = url.replace("{" + key + "}",
                              quote(value, safe="", errors="surrogatepass"))
        query_string = urlencode(query, errors="surrogatepass")
        headers = self.headers()
        if body is None and where != "body":
            return self.estate.client.open(url, method=self.method, headers=headers,
                                           query_string=query_string)
        text = json.dumps(body)  # ensure_ascii: a surrogate goes as the JSON escape \ud800
        if hostile.raw is not None:
            text = text.replace(json.dumps(PLACE), hostile.raw)
        data = text.encode()
        if chunked:
            return self.estate.client.open(
                url, method=self.method, query_string=query_string, input_stream=io.BytesIO(data),
                headers={**headers, "Transfer-Encoding": "chunked",
                         "Content-Type": "application/json"},
                environ_overrides={"wsgi.input_terminated": True})
        return self.estate.client.open(url, method=self.method, query_string=query_string,
                                       data=data, content_type="application/json",
                                       headers=headers)

    @staticmethod
    def _place(body: dict[str, Any], name: str, hostile: Hostile) -> dict[str, Any]:
        *parents, leaf = name.split(".")
        node = body
        for parent in parents:
            child = node.get(parent)
            node[parent] = child if isinstance(child, dict) else {}
            node = node[parent]
        value = PLACE if hostile.raw is not None else hostile.value
        if hostile.kind == "duplicate_key":
            holder = Dup(node, leaf, value)
            if not parents:
                return holder
            grand = body
            for parent in parents[:-1]:
                grand = grand[parent]
            grand[parents[-1]] = holder
            return body
        node[leaf] = value
        return body


def broken_contract(response: Any) -> str | None:
    """Why an answer breaks the promise (a 5xx, or a refusal that is not problem+json)."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.get_data(as_text=True)[:200]}"
    if response.status_code >= 400:
        if response.mimetype != PROBLEM:
            return f"{response.status_code} as {response.mimetype}"
        body = response.get_json()
        if body.get("status") != response.status_code or not body.get("code"):
            return f"problem without status/code: {body}"
    return None


def fuzz(target: Target, tried: Counter[str], broken: list[str]) -> None:
    """EXAMPLES rounds of every field of one operation x every class, counted in `tried`."""

    @given(data=st.data())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate,))
    def round_of(data: Any) -> None:
        for field in target.fields:
            for kind in CLASSES:
                hostile = data.draw(STRATEGIES[kind], label=f"{field} {kind}")
                # every other body goes chunked, so both transports meet every class
                chunked = field.startswith("body:") and tried["bodies"] % 2 == 1
                tried["bodies"] += field.startswith("body:")
                response = target.call(field, hostile, chunked)
                tried[kind] += 1
                tried["chunked" if chunked else "declared"] += 1
                tried[f"status {response.status_code // 100}xx"] += 1
                why = broken_contract(response)
                if why:
                    broken.append(f"{target.method} {target.path} {field} {hostile!r:.200}: {why}")

    round_of()


def test_hostile_values_in_every_field_never_cause_a_5xx(app: Any, estate: Estate,
                                                         document: dict[str, Any],
                                                         capsys: Any) -> None:
    only = os.environ.get("PENGCHENG_FUZZ_ONLY")
    targets = [Target(document, estate, m, p, op) for m, p, op in operations(document)
               if not only or re.search(only, f"{m} {p}")]
    assert only or len(targets) >= 60, "the OpenAPI document lost operations"
    tried: Counter[str] = Counter()
    broken: list[str] = []

    for target in targets:
        fuzz(target, tried, broken)

    with capsys.disabled():
        print("\nhostile fuzzing:", json.dumps(dict(sorted(tried.items()))))
    assert tried["chunked"] and tried["declared"]
    assert not broken, "\n".join(broken[:40])
    assert tried["status 5xx"] == 0
    for kind in CLASSES:
        assert tried[kind] >= (1 if only else 150), (kind, tried)


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()
