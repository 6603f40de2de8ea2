"""The ClickHouse read and write SQL, one file per statement.

`{name:Type}` are ClickHouse query parameters (bound by the server); `{{part}}` marks the few
places where `statement(name, part=...)` puts checked identifiers or built clauses.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["statement", "statements"]


@cache
def _text(name: str) -> str:
    return (resources.files(__package__) / f"{name}.sql").read_text()


def statement(name: str, **parts: str) -> str:
    sql = _text(name)
    for key, value in parts.items():
        sql = sql.replace("{{" + key + "}}", value)
    if "{{" in sql:
        raise KeyError(f"sql/{name}.sql: unfilled part in {sql!r}")
    return sql


def statements(script: str) -> list[str]:
    """The statements of a migration script (`;` at a line's end separates them)."""
    body = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";").strip()]
