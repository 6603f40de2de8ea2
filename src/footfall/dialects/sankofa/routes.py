"""sankofa routes (being written)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from footfall.ops.openapi import Operation

__all__ = ["OPERATIONS", "routes"]

routes: list[BaseRoute] = []
OPERATIONS: list[Operation] = []
