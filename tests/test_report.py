"""The HTML run report: self-contained, only the sections that apply, rendered by a real browser.

The browser tests need Chromium (Debian: ``apt-get install -y chromium``); without it they skip.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import vbrain as vb
from vbrain.experiment import load_experiment, run_experiment
from vbrain.report import write_run_report


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = _chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A short stimulated run with BOLD and EEG and a subject FC, through `vbrain run`."""
    root = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 76))
    np.save(root / "fc.npy", np.corrcoef(x.T))
    cfg = {
        "experiment": {"name": "report test", "description": "stimulated Wong-Wang network"},
        "subject": {"fc": "fc.npy"},
        "model": {"name": "ReducedWongWang", "parameters": {"w": 0.6}},
        "coupling": {"name": "Linear", "parameters": {"a": 0.1}},
        "integration": {"duration": 4000.0, "noise": 1e-5, "dt": 0.1},
        "monitors": [{"kind": "tavg", "period": 2.0}, {"kind": "bold", "tr": 500.0},
                     {"kind": "eeg", "montage": "biosemi32", "period": 4.0}],
        "stimuli": [{"variable": "S",
                     "waveform": {"kind": "PulseTrain", "frequency": 10.0, "width": 1.0,
                                  "amplitude": 0.2, "onset": 1000.0},
                     "pattern": {"kind": "Labels", "labels": ["rV1", "lV1"]}}],
        "outputs": {"folder": "out", "files": ["netcdf", "report"]},
    }
    rec = run_experiment(load_experiment(cfg, base_dir=root), progress=False)
    return rec, root / "out" / "report.html"


def _images(html_text: str) -> list[tuple[str, bytes]]:
    out = []
    for alt_src in re.finditer(r"<img src='data:image/png;base64,([^']+)' alt='([^']*)'",
                               html_text):
        out.append((alt_src.group(2), base64.b64decode(alt_src.group(1))))
    return out


def test_report_is_self_contained_with_the_sections_that_apply(run):
    from PIL import Image

    rec, path = run
    text = path.read_text()
    assert rec.outputs["report"] == path
    # offline: no external resource of any kind
    assert not re.search(r"(src|href)\s*=\s*['\"](?!data:|#)", text)
    assert "http://" not in text and "https://" not in text and "<script" not in text
    heads = re.findall(r"<h2 id='[^']*'>([^<]*)</h2>", text)
    assert heads == ["Run", "Time series", "Spectra", "Functional connectivity", "Connectome",
                     "Stimuli", "BOLD", "EEG"]
    assert "Fit" not in heads  # no [fit] table, no fit section
    assert "not drawn" not in text  # every figure was drawn
    images = _images(text)
    assert len(images) == 10  # S; spectra; FC; glass brain; weights; stimulus; BOLD x2; EEG x2
    for alt, png in images:
        img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
        assert img.shape[0] > 150 and img.shape[1] > 300, alt
        assert img.std() > 10 and (img < 128).mean() > 0.01, f"{alt} looks blank"
    assert "rV1" in text and "PulseTrain" in text  # the stimulus table names regions and waveform
    assert "subject&#x27;s FC" in text or "against the subject" in text
    r = float(re.search(r"Upper-triangle correlation r = (-?\d+\.\d+)", text).group(1))
    assert -1.0 <= r <= 1.0


def test_report_without_optional_parts_has_only_what_applies(tmp_path):
    conn = vb.Connectome.load("atlases:default")
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(), seed=1,
                        noise=vb.noise.Additive(1e-3),
                        monitors=[vb.monitors.TemporalAverage(1.0)])
    res = sim.run(300.0, progress=False)
    path = write_run_report(res, tmp_path / "r.html", title="tiny")
    text = path.read_text()
    heads = re.findall(r"<h2 id='[^']*'>([^<]*)</h2>", text)
    assert heads == ["Run", "Time series", "Spectra", "Functional connectivity"]
    assert "Generic2dOscillator" in text and "<title>tiny</title>" in text
    assert len(_images(text)) == 4  # V, W, spectra, FC
    assert "Fit" not in heads and "BOLD" not in heads and "Stimuli" not in heads


def _render(html_path: Path, out_png: Path, height: int) -> None:
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--disable-dev-shm-usage", f"--window-size=1280,{height}",
                    f"--screenshot={out_png}", html_path.as_uri()],
                   check=True, capture_output=True, timeout=120)


@needs_chromium
def test_browser_decodes_every_image(run, tmp_path):
    """Chromium loads the page; a small script reports each <img>'s decoded size."""
    _, path = run
    probe = tmp_path / "probe.html"
    script = ("<script>window.addEventListener('load', function () {"
              "var r = Array.from(document.images).map(function (i) {"
              "return [i.alt, i.complete, i.naturalWidth, i.naturalHeight]; });"
              "var p = document.createElement('pre'); p.id = 'probe';"
              "p.textContent = JSON.stringify(r); document.body.appendChild(p); });</script>")
    probe.write_text(path.read_text().replace("</body>", script + "</body>"))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-dev-shm-usage", "--virtual-time-budget=5000", "--dump-dom",
                          probe.as_uri()], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom, re.DOTALL)
    assert found, "the probe script did not run"
    images = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert len(images) == len(_images(path.read_text()))
    for alt, complete, width, height in images:
        assert complete and width > 300 and height > 150, alt


@needs_chromium
def test_browser_screenshot_shows_the_figures(run, tmp_path):
    """The rendered page is not blank: its top shows the settings table and the first figures."""
    from PIL import Image

    _, path = run
    shot = tmp_path / "shot.png"
    _render(path, shot, 2400)
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert img.shape[:2] == (2400, 1280)
    grey = img.mean(axis=2)
    ink = grey < 200
    assert ink.mean() > 0.03  # text and figures, not an empty page
    rows = ink.mean(axis=1)
    assert (rows > 0.1).sum() > 300  # tall blocks of drawing: figures, not only text lines
    colour = (img.max(axis=2) - img.min(axis=2)) > 60
    assert colour.mean() > 0.01  # coloured plot lines and colour maps are shown
