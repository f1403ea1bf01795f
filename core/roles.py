"""The app's own database role: not a superuser, just the grants the service needs.

`pengcheng db create-role` prints or applies these for a server; the embedded default applies
them itself (`core.embedded.default_urls`), so the app never runs as a superuser there either.
"""

from __future__ import annotations

from typing import Any

APP_ROLE = "pengcheng_app"


def role_statements(role: str, database: str, migrator: str, password: str | None, *,
                    exists: bool = False) -> list[Any]:
    """What the app's role needs, and nothing more: log in (not a superuser, so it never takes
    PostgreSQL's reserved connections), read and write the tables, use the sequences, call
    the functions; the same on what later migrations (run as `migrator`) create."""
    from psycopg import sql

    who, owner = sql.Identifier(role), sql.Identifier(migrator)
    attrs: sql.Composable = sql.SQL(
        "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
    if password is not None:
        attrs = sql.SQL("{} PASSWORD {}").format(attrs, sql.Literal(password))
    grants = (
        "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {who}",
        "GRANT USAGE ON SCHEMA public TO {who}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {who}",
        "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {who}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {who}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        "GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {who}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        "GRANT EXECUTE ON FUNCTIONS TO {who}",
    )
    verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
    return [sql.SQL("{} {} {}").format(verb, who, attrs)] + [
        sql.SQL(text).format(db=sql.Identifier(database), who=who, owner=owner)
        for text in grants]
