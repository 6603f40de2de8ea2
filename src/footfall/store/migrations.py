"""Versioned schema migrations: `NNN_name.sql` files in a package folder, applied once each."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

__all__ = ["pending"]


def pending(package: str, done: set[int]) -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration not in `done`, in version order."""
    folder = resources.files(package) / "migrations"
    out = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".sql"):
            version = int(item.name.split("_", 1)[0])
            if version not in done:
                out.append((version, item.name, item.read_text()))
    return out


def apply_all(
    package: str,
    done: set[int],
    apply: Callable[[int, str, str], None],
) -> int:
    """Apply every pending migration with `apply(version, name, sql)`; returns how many."""
    todo = pending(package, done)
    for version, name, sql in todo:
        apply(version, name, sql)
    return len(todo)
