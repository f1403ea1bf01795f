"""Reports: generated per second (content + signature + PDF, and the HTML page) and
verifications per second, in one process on PostgreSQL.

Measured in-process through the Flask test client (no HTTP server: what is measured is the
report work itself, one core), next to the pieces on their own: assembling + signing, PDF
rendering, HTML rendering, and the signature check of an uploaded JWS.
Creates its own database (dropped at the end), runs each phase for a bounded time, prints JSON.

    .venv/bin/python bench/reports.py [--seconds 5] [--residents 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, recreate_database  # noqa: E402
from core.clock import FrozenClock  # noqa: E402
from core.crypto import new_key_text  # noqa: E402
from tests.support.factories import T0, FakeIdp, bearer, login, new_source  # noqa: E402

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/pc_bench_reports"


def timed(fn, seconds: float) -> tuple[float, int]:
    """(operations per second, operations) of `fn` run repeatedly for about `seconds`."""
    n, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        fn(n)
        n += 1
    return n / (time.perf_counter() - started), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--db", default=os.environ.get("PENGCHENG_BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()

    from app import create_app
    from app.bootstrap import bootstrap
    from app.runtime import runtime
    from reports import html, pdf
    from tests.support.tokens import good_history, grant, push

    admin = recreate_database(args.db)
    idp = FakeIdp()
    os.environ.setdefault("PENGCHENG_INSTANCE_PATH", "/tmp/pengcheng-bench-reports")
    app = create_app({"DATABASE_URL": args.db, "MASTER_KEY": new_key_text(),
                      "INDEX_KEY": new_key_text(), "IDP_JWKS": idp.jwks,
                      "RATE_LIMIT_LOGIN": "100000/60", "RATE_LIMIT_INGEST": "100000/60",
                      "RATE_LIMIT_REPORTS": "1000000/60",
                      "RATE_LIMIT_REPORT_VERIFY": "1000000/60"},
                     clock=FrozenClock(T0))  # the test identity provider signs at T0
    try:
        bootstrap(app)
        client = app.test_client()
        _src, key = new_source(app)
        people = []
        for n in range(args.residents):
            push(client, key, good_history(100 + n))
            token = login(client, idp, 100 + n, "测试")
            grant(client, token, "scoring")
            people.append(token)
        client.get("/api/v1/me/score", headers=bearer(people[0]))

        def generate(kind: str, body: dict):
            codes: list[dict] = []

            def one(i: int) -> None:
                response = client.post("/api/v1/me/reports", json={"kind": kind, **body},
                                       headers=bearer(people[i % len(people)]))
                assert response.status_code == 201, response.get_json()
                codes.append(response.get_json())
            return one, codes

        full, issued = generate("credit_report", {})
        cert, issued_cert = generate("no_violation", {})
        figures: dict[str, float | int] = {}
        figures["credit_report_generated_per_s"], _ = timed(full, args.seconds)
        print("credit reports:", figures, file=sys.stderr)
        figures["no_violation_generated_per_s"], _ = timed(cert, args.seconds)
        owners = {r["report_id"]: people[i % len(people)] for i, r in enumerate(issued)}

        def html_page(i: int) -> None:
            r = issued[i % len(issued)]
            response = client.get(r["html_url"], headers=bearer(owners[r["report_id"]]))
            assert response.status_code == 200
        figures["html_page_per_s"], _ = timed(html_page, args.seconds)

        def verify_code(i: int) -> None:
            r = issued[i % len(issued)]
            response = client.get("/reports/verify", query_string={"code": r["code"]},
                                  headers={"Accept": "application/json"})
            assert response.get_json()["genuine"] is True
        figures["verifications_by_code_per_s"], _ = timed(verify_code, args.seconds)

        signed = [client.get(r["signed_url"], headers=bearer(owners[r["report_id"]])).get_json()
                  for r in issued[:20]]
        k = len(signed)

        def verify_jws(i: int) -> None:
            response = client.post("/reports/verify", json={"jws": signed[i % k]["jws"]})
            assert response.get_json()["genuine"] is True
        figures["verifications_by_jws_per_s"], _ = timed(verify_jws, args.seconds)

        payloads = [s["report"] for s in signed]
        env = html.environment(os.path.join(app.root_path, "templates", "reports"))
        figures["pdf_render_only_per_s"], _ = timed(
            lambda i: pdf.render(payloads[i % k], jws=signed[i % k]["jws"]), args.seconds)
        figures["html_render_only_per_s"], _ = timed(
            lambda i: html.document(env, payloads[i % k], css_url="/x.css"), args.seconds)
        with app.app_context(), runtime().uow() as uow:
            from reports.signing import sign
            figures["sign_only_per_s"], _ = timed(
                lambda i: sign(runtime().signer, uow.session, payloads[i % k]), args.seconds)
        figures["pdf_bytes_typical"] = len(pdf.render(payloads[0], jws=signed[0]["jws"]))
        figures["reports_issued"] = len(issued) + len(issued_cert)
        print(json.dumps({k: round(v, 1) if isinstance(v, float) else v
                          for k, v in figures.items()}, indent=2))
    finally:
        app.extensions["pengcheng"].engine.dispose()
        drop_database(admin, args.db)


if __name__ == "__main__":
    main()
