"""The control-plane caches of the core, as /metrics counts them."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.config import Settings
from footfall.service import Footfall
from footfall.store.meta import MetaUnavailable


def test_a_stale_domain_answer_is_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Review 16: a Plausible site's project served from the cache while the control plane is
    away counts in `footfall_control_plane_stale_answers_total`, as every other cached answer."""
    service = Footfall(Settings(data=tmp_path))
    try:
        project = service.meta.create_project("p", [])
        service.meta.set_domains(project.id, ["shop.example"])
        service._domains.ttl = 0.0  # a cached answer is past its time at once
        assert service.site_principal("shop.example") is not None

        def away(project_id: str | None = None) -> dict[str, str]:
            raise MetaUnavailable("control plane away")

        monkeypatch.setattr(service.meta, "domains", away)  # the outage, not our storage's logic
        principal = service.site_principal("shop.example")
        assert principal is not None and principal.project_id == project.id
        assert service.stale_answers() == 1
    finally:
        service.meta.close()
        service.store.close()
        service.state.close()
