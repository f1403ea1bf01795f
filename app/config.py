"""Configuration: defaults here, then `PENGCHENG_*` environment variables, then the caller's.

Every key is documented in README.md. Keys read from the environment drop the prefix:
`PENGCHENG_DATABASE_URL` becomes `DATABASE_URL`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core import embedded
from core.crypto import new_key_text, parse_key
from core.db import Timeouts


class ConfigError(RuntimeError):
    """A configuration that must not start (a missing key outside development mode)."""


DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "DATABASE_URL": None,  # default: the embedded PostgreSQL under <instance>/postgres
    "MIGRATION_DATABASE_URL": None,  # migrations' own (owner) URL; default: DATABASE_URL
    "REDIS_URL": None,  # unset: in-process fallbacks
    "MASTER_KEY": None,  # comma-separated, newest first; generated into instance/ in development
    "INDEX_KEY": None,  # blind indexes and pseudonyms; generated into instance/ in development
    "IDP_JWKS": None,  # a JWKS document or a path to one
    "IDP_ISSUER": None,  # expected `iss` of identity assertions (any issuer if unset)
    "ISSUER": "https://pengcheng.sz.gov.cn",  # our `iss` in tokens and receipts
    "SESSION_TTL_SECONDS": 3600,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "TRUSTED_PROXIES": 0,  # proxy hops whose X-Forwarded-For is believed (0: ignore the header)
    "RATE_LIMIT_LOGIN": "20/60",  # sign-in attempts per client address per window (seconds)
    "RATE_LIMIT_LOGIN_IDENTITY": "5/60",  # verified sign-ins per identity (`sub`) per window
    "RATE_LIMIT_INGEST": "600/60",  # batches per source per window
    "RATE_LIMIT_TOKENS": "30/60",  # partner tokens (QR codes) a resident may ask per window
    "RATE_LIMIT_CODE_MISSES": "30/60",  # wrong one-time codes a partner may send per window
    "RATE_LIMIT_RIGHTS": "10/3600",  # disputes, repairs, review requests per resident
    "DISPUTE_DAYS": 15,  # days an operator has to resolve a dispute
    "DB_POOL_SIZE": 10,
    # Bounded waits (core.db.Timeouts; docs/operations.md "Bounded waits"). Web requests:
    "DB_LOCK_TIMEOUT_MS": 2000,  # a row lock held elsewhere: 503 database_busy after this
    "DB_STATEMENT_TIMEOUT_MS": 5000,  # any one statement of a request
    "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": 30000,  # a transaction left open and idle is ended
    "DB_CONNECT_TIMEOUT_S": 3,  # opening a connection
    "DB_POOL_TIMEOUT_S": 2,  # waiting for a pooled connection (503 database_busy after)
    # `pengcheng score` and `pengcheng jobs run` (their transactions raise the limits):
    "DB_BATCH_LOCK_TIMEOUT_MS": 30000,
    "DB_BATCH_STATEMENT_TIMEOUT_MS": 600000,
    "DB_BATCH_IDLE_IN_TRANSACTION_TIMEOUT_MS": 600000,
    "DB_HEALTH_TIMEOUT_MS": 1000,  # /healthz: its own connection, this long for SELECT 1
    "RESIDENT_CONCURRENCY": 4,  # partner writes in flight per resident key and process
    "REPORT_DAYS": 30,  # a credit report / no-violation certificate is valid this many days
    "RATE_LIMIT_REPORTS": "10/3600",  # reports a resident may generate per window
    "RATE_LIMIT_REPORT_VERIFY": "600/60",  # verifications per client address per window
    "RATE_LIMIT_REPORT_VERIFY_CODE": "30/60",  # verifications per report code (or document)
    "REPORT_BASE_URL": None,  # public address printed in reports' QR codes (default: request's)
    "MEDICAL_CREDIT_HOLD_HOURS": 24,  # an uncaptured authorization is released after this
    "MEDICAL_CREDIT_DUE_DAYS": 7,  # a bill is due this many days after capture (pilots: 2-10)
    "MEDICAL_CREDIT_REMIND_DAYS": 2,  # remind the resident this many days before the due date
    "MEDICAL_CREDIT_GRACE_DAYS": 7,  # an overdue bill becomes a record after this many days
    "DEPOSIT_WAIVER_GRACE_DAYS": 7,  # a waiver default becomes a record after this many days
    # Resident messages (events.channels): sink (records only), sms or wechat
    "CHANNEL": "sink",
    "SMS_GATEWAY_URL": None,
    "SMS_GATEWAY_KEY": None,
    "WECHAT_GATEWAY_URL": None,
    "WECHAT_GATEWAY_KEY": None,
    "WECHAT_TEMPLATES": None,  # JSON: notice kind (or "default") -> template id
    "CHANNEL_DAILY_LIMIT": 3,  # messages per resident per Shanghai day; the rest inbox only
    "POINTS_RULES": None,  # earning rules + expiry: a JSON file path or JSON (None: packaged)
    "AUTH_CACHE_SECONDS": 5,  # partner/source/operator key lookups cached per process
    "AUDIT_CHECKPOINT_MINUTES": 60,  # `jobs run` signs the audit chain's head this often
    "AUDIT_CHECKPOINT_MARGIN_MINUTES": 30,  # `audit verify` fails past interval + this
    # Committed erasures, outside the database (core.journal); default <instance>/erasures.jsonl
    "ERASURE_JOURNAL": None,
    "JSON_AS_ASCII": False,
    "API_TITLE": "鹏城分 Pengcheng Score",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Swagger UI from the swagger-ui-bundle package, served by app.http: /docs works offline.
    "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
    "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},  # no call to an online validator
}


def is_development(config: dict[str, Any]) -> bool:
    return str(config.get("ENV", "")).lower() == "development"


def db_timeouts(config: dict[str, Any], kind: str = "request") -> Timeouts:
    """The bounded waits of `kind`: `request` (web), `batch` (CLI batch and jobs), `health`."""
    connect, pool = int(config["DB_CONNECT_TIMEOUT_S"]), float(config["DB_POOL_TIMEOUT_S"])
    if kind == "batch":
        return Timeouts(int(config["DB_BATCH_LOCK_TIMEOUT_MS"]),
                        int(config["DB_BATCH_STATEMENT_TIMEOUT_MS"]),
                        int(config["DB_BATCH_IDLE_IN_TRANSACTION_TIMEOUT_MS"]), connect, pool)
    if kind == "health":
        health = int(config["DB_HEALTH_TIMEOUT_MS"])
        return Timeouts(health, health, health, min(connect, 2), health / 1000)
    return Timeouts(int(config["DB_LOCK_TIMEOUT_MS"]), int(config["DB_STATEMENT_TIMEOUT_MS"]),
                    int(config["DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"]), connect, pool)


def _instance_secret(instance: Path, name: str) -> str:
    """Read or create a random key file in the instance folder (development only)."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(new_key_text() + "\n")
    return path.read_text().strip()


def _check_limits(config: dict[str, Any]) -> None:
    """Proxy hops and rate limits are checked at start-up, not at the first request."""
    from app.ratelimit import limit_of

    hops = config.get("TRUSTED_PROXIES")
    if isinstance(hops, bool) or not str(hops).isdigit():
        raise ConfigError(f"PENGCHENG_TRUSTED_PROXIES must be a whole number >= 0, not {hops!r}")
    config["TRUSTED_PROXIES"] = int(str(hops))
    for key in [k for k in config if k.startswith("RATE_LIMIT_")]:
        try:
            limit_of(str(config[key]))
        except ValueError as exc:
            raise ConfigError(f"PENGCHENG_{key} is not a rate limit ('count/seconds'): "
                              f"{config[key]!r}") from exc


def resolve(config: dict[str, Any], instance_path: str) -> None:
    """Fill derived defaults and refuse unsafe production configurations."""
    instance = Path(instance_path)
    dev = is_development(config)
    _check_limits(config)
    for key, filename in (("MASTER_KEY", "master.key"), ("INDEX_KEY", "index.key")):
        if not config.get(key):
            if not dev:
                raise ConfigError(
                    f"PENGCHENG_{key} is required when PENGCHENG_ENV is not 'development' "
                    f"(generate one with: python -c \"import os,base64;"
                    f"print(base64.urlsafe_b64encode(os.urandom(32)).decode())\")"
                )
            config[key] = _instance_secret(instance, filename)
        try:
            for part in str(config[key]).split(","):
                parse_key(part)
        except ValueError as exc:
            raise ConfigError(f"PENGCHENG_{key} is not a valid key: {exc}") from exc
    if not dev and not config.get("IDP_JWKS"):
        raise ConfigError(
            "PENGCHENG_IDP_JWKS is required when PENGCHENG_ENV is not 'development': "
            "residents can only log in with the identity provider's signed assertions"
        )
    channel = str(config.get("CHANNEL") or "sink")
    if channel not in ("sink", "sms", "wechat"):
        raise ConfigError(f"PENGCHENG_CHANNEL must be sink, sms or wechat, not {channel!r}")
    if channel != "sink" and not (config.get(f"{channel.upper()}_GATEWAY_URL")
                                  and config.get(f"{channel.upper()}_GATEWAY_KEY")):
        raise ConfigError(f"PENGCHENG_CHANNEL={channel} needs PENGCHENG_{channel.upper()}"
                          f"_GATEWAY_URL and PENGCHENG_{channel.upper()}_GATEWAY_KEY")
    if not str(config.get("CHANNEL_DAILY_LIMIT")).isdigit():
        raise ConfigError("PENGCHENG_CHANNEL_DAILY_LIMIT must be a whole number >= 0, not "
                          f"{config.get('CHANNEL_DAILY_LIMIT')!r}")
    config["CHANNEL_DAILY_LIMIT"] = int(str(config["CHANNEL_DAILY_LIMIT"]))
    if not config.get("ERASURE_JOURNAL"):
        config["ERASURE_JOURNAL"] = str(instance / "erasures.jsonl")
    # Last: a configuration refused above never starts a database.
    if not config.get("DATABASE_URL"):
        instance.mkdir(parents=True, exist_ok=True)
        try:
            config["DATABASE_URL"], config["MIGRATION_DATABASE_URL"] = (
                embedded.default_urls(instance))
        except embedded.EmbeddedError as exc:
            raise ConfigError(f"the embedded PostgreSQL under {instance} cannot be used: {exc}"
                              ) from exc
