"""Every example runs (shortened) and writes its figure."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_and_writes_a_figure(script, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VBRAIN_EXAMPLE_DURATION", "2000")
    before = set(tmp_path.iterdir())
    runpy.run_path(str(script), run_name="__main__")
    figures = [p for p in set(tmp_path.iterdir()) - before if p.suffix == ".png"]
    assert figures and all(p.stat().st_size > 10_000 for p in figures)
