"""gunicorn settings, read from the working directory (`gunicorn "app:create_app()"`).

Workers, threads and the bind address are the deployment's to choose on the command line
(README, docs/operations.md); this file holds what every deployment wants.
"""

import gc
import json

from gunicorn import util

# The app refuses URLs over app.safe_input.MAX_URL_BYTES (4096) with problem+json; gunicorn's
# own limit (its maximum) stays above that, so only a request line over 8190 bytes is refused
# by gunicorn itself, and that answer is problem+json too (`write_problem`).
limit_request_line = 8190

PROBLEM_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long",
                 417: "expectation_failed", 431: "header_too_large", 500: "internal_error",
                 501: "not_implemented"}


def write_problem(sock, status_int, reason, mesg):
    """gunicorn's answer to a request it refuses before the app sees it (an over-long request
    line, over-large headers, bad chunking), as RFC 9457 problem+json like every other."""
    body = json.dumps({
        "type": "about:blank", "title": reason, "status": status_int,
        "code": PROBLEM_CODES.get(status_int, f"http_{status_int}"),
        "detail": str(mesg)[:200] or reason,
    }).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n"
            f"X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def post_fork(server, worker):
    """Each worker writes its protocol errors with `write_problem` (gunicorn calls
    `util.write_error` for them and offers no setting for their format)."""
    util.write_error = write_problem


def post_worker_init(worker):
    """The app is loaded. Warm it (`Runtime.warm`: mappers and the active model ready, every
    pooled connection opened and each hot path run once on it, rolled back: `app.warmup`), so
    that a new worker's first requests do not each wait 100-250 ms.
    Then its ~140,000 objects (routes, schemas, OpenAPI spec, SQLAlchemy metadata) live as long
    as the worker: freezing them keeps them out of the collector's full passes, each of which
    would otherwise stop the worker for ~75 ms (measured in-process)."""
    from app.runtime import EXTENSION

    runtime = getattr(worker.wsgi, "extensions", {}).get(EXTENSION)
    if runtime is not None:  # the app (bench targets without Flask have none)
        with worker.wsgi.app_context():
            runtime.warm()
    gc.freeze()
