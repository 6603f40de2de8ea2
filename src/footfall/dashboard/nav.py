"""The project's sections, shown as tabs on every project page: a new page adds one line here."""

from __future__ import annotations

import msgspec

__all__ = ["SECTIONS", "Section"]


class Section(msgspec.Struct, frozen=True):
    name: str  # data-testid="nav-<name>"; `current` in templates
    title: str
    path: str  # after /dashboard/p/{project}/{env}
    key: str = ""  # keyboard shortcut, listed in the `?` overlay


SECTIONS: tuple[Section, ...] = (
    Section("report", "Report", ""),
    Section("realtime", "Realtime", "/realtime", "r"),
    Section("sessions", "Sessions", "/sessions"),
    Section("events", "Events", "/events"),
    Section("funnels", "Funnels", "/funnels"),
    Section("attribution", "Attribution", "/attribution"),
    Section("share", "Share", "/share"),
)
