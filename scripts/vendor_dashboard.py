#!/usr/bin/env python3
"""Refresh the dashboard's vendored front-end files from the npm registry (no build step).

    python3 scripts/vendor_dashboard.py

Fetches the pinned packages with `npm pack`, copies the files the dashboard serves with each
package's licence into src/footfall/dashboard/static/vendor/, and turns world-atlas's country
geometry (Natural Earth, 1:110m) into SVG paths keyed by ISO 3166-1 alpha-2 code
(src/footfall/dashboard/data/world.json; numeric → alpha-2 from i18n-iso-countries; every
code's English name in data/country_names.json), so the
server draws the map without any geometry code at run time. Bump a version here, run it, commit
the result with the CHANGELOG line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "footfall" / "dashboard"
VENDOR = ROOT / "static" / "vendor"
PACKAGES = {
    "uplot@1.6.32": {"dist/uPlot.iife.min.js": "uPlot.iife.min.js", "dist/uPlot.min.css": "uPlot.min.css", "LICENSE": "uPlot.LICENSE"},
    "htmx.org@2.0.11": {"dist/htmx.min.js": "htmx.min.js", "LICENSE": "htmx.LICENSE"},
    "world-atlas@2.0.2": {"LICENSE": "world-atlas.LICENSE"},
    "i18n-iso-countries@7.14.0": {"LICENSE": "i18n-iso-countries.LICENSE"},
}
# Equirectangular, Antarctica left out (no visitors there; it would take a third of the height).
WIDTH, LAT_TOP, LAT_BOTTOM = 1000.0, 84.0, -58.0


def fetch(spec: str, into: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", spec, "--pack-destination", str(into), "--silent"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    folder = into / spec.replace("/", "_")
    with tarfile.open(into / out) as tar:
        tar.extractall(folder, filter="data")
    return folder / "package"


def _arcs(topo: dict) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    decoded = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def _project(lon: float, lat: float) -> tuple[float, float]:
    scale = WIDTH / 360
    lat = max(min(lat, LAT_TOP), LAT_BOTTOM)
    return round((lon + 180) * scale, 1), round((LAT_TOP - lat) * scale, 1)


def world_paths(topo: dict, codes: list[list[str]]) -> dict[str, dict[str, str]]:
    alpha2 = {numeric: a2 for a2, _a3, numeric, *_ in codes}
    arcs = _arcs(topo)
    out: dict[str, dict[str, str]] = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        code = alpha2.get(str(geometry.get("id", "")))
        if code is None or code == "AQ":
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        d = []
        for polygon in polygons:
            for ring in polygon:
                pts = [_project(*p) for p in _ring(arcs, ring)]
                d.append("M" + "L".join(f"{x:g},{y:g}" for x, y in pts) + "Z")
        out[code] = {"name": geometry["properties"]["name"], "d": "".join(d)}
    return dict(sorted(out.items()))


def world_svg(countries: dict[str, dict[str, str]], height: float) -> str:
    """One cacheable file: each country a path with its code as id, and `#all` drawing them
    all. Pages reference it with <use>, so the outlines never travel in the HTML."""
    paths = "".join(f'<path id="{code}" d="{c["d"]}"/>' for code, c in countries.items())
    uses = "".join(f'<use href="#{code}"/>' for code in countries)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {height:g}">'
        f'<defs>{paths}</defs><g id="all">{uses}</g></svg>\n'
    )


def main() -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folders = {spec: fetch(spec, Path(tmp)) for spec in PACKAGES}
        for spec, files in PACKAGES.items():
            for src, dest in files.items():
                shutil.copyfile(folders[spec] / src, VENDOR / dest)
        topo = json.loads((folders["world-atlas@2.0.2"] / "countries-110m.json").read_text())
        codes = json.loads((folders["i18n-iso-countries@7.14.0"] / "codes.json").read_text())
        english = json.loads((folders["i18n-iso-countries@7.14.0"] / "langs" / "en.json").read_text())
    # Every ISO 3166-1 alpha-2 code's English name (the first, official one where there are
    # several), for the countries panel: the map's geometry only has the larger countries.
    every_name = {code: n[0] if isinstance(n, list) else n for code, n in english["countries"].items()}
    height = round((LAT_TOP - LAT_BOTTOM) * WIDTH / 360, 1)
    countries = world_paths(topo, codes)
    (ROOT / "data").mkdir(exist_ok=True)
    names = {code: c["name"] for code, c in countries.items()}
    index = {"width": WIDTH, "height": height, "countries": names}
    (ROOT / "data" / "world.json").write_text(json.dumps(index, separators=(",", ":")) + "\n")
    (ROOT / "static" / "world.svg").write_text(world_svg(countries, height))
    (ROOT / "data" / "country_names.json").write_text(json.dumps(every_name, separators=(",", ":"), sort_keys=True) + "\n")
    (VENDOR / "VERSIONS").write_text("".join(f"{spec}\n" for spec in PACKAGES))
    print(f"vendored {', '.join(PACKAGES)} into {VENDOR}")


if __name__ == "__main__":
    main()
