"""The API reference builds from the docstrings (docs/api/build.py, pdoc) and covers the API."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("pdoc")
BUILD = Path(__file__).parents[1] / "docs" / "api" / "build.py"


def test_api_reference_builds_and_documents_the_public_api(tmp_path):
    spec = importlib.util.spec_from_file_location("build_api", BUILD)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    index = build.build(tmp_path)
    assert index.is_file()
    pages = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html")}
    for page, names in {
        "vbrain/simulation.html": ["Simulation", "sweep", "SimulationDiverged"],
        "vbrain/forward/leadfield.html": ["LeadField"],
        "vbrain/cosim.html": ["Inset"],
        "vbrain/stimulus.html": ["PulseTrain", "ClosedLoop", "InsetNeurons"],
        "vbrain/spiking/network.html": ["Network", "advance"],
        "vbrain/models/montbrio.html": ["MontbrioPazoRoxin"],
        "vbrain/pipelines/fmri.html": ["fmri_targets"],
    }.items():
        assert page in pages, sorted(pages)[:20]
        text = (tmp_path / page).read_text(encoding="utf-8")
        for name in names:
            assert name in text, (page, name)
    # numpydoc sections are rendered, units included
    assert "mm/ms" in (tmp_path / "vbrain/simulation.html").read_text(encoding="utf-8")
