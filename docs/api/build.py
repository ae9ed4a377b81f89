"""Build the API reference (HTML) from vbrain's docstrings with pdoc.

Usage::

    pip install ".[docs]"
    python docs/api/build.py            # -> docs/api/html/index.html
    python docs/api/build.py --out DIR

Docstrings are numpydoc; pdoc renders them (with the math) as they are
written, so the reference cannot drift from the code. The HTML is a build
product: it is not kept in the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: the public modules, in reading order (submodules are found by pdoc)
MODULES = ["vbrain", "vbrain.connectome", "vbrain.atlas", "vbrain.models", "vbrain.coupling",
           "vbrain.noise", "vbrain.simulation", "vbrain.monitors", "vbrain.forward",
           "vbrain.result", "vbrain.stimulus", "vbrain.cosim", "vbrain.bridges",
           "vbrain.spiking", "vbrain.fit", "vbrain.parallel", "vbrain.experiment",
           "vbrain.report", "vbrain.plotting", "vbrain.cli", "vbrain.pipelines"]


def build(out: Path) -> Path:
    """Render the reference into ``out``; return the index page."""
    try:
        import pdoc
        import pdoc.render
    except ImportError:
        sys.exit("pdoc is missing: pip install '.[docs]'")
    import importlib

    present = []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError as err:  # a module of another version of vbrain
            print(f"skipping {name}: {err}", file=sys.stderr)
            continue
        present.append(name)
    pdoc.render.configure(docformat="numpy", math=True, search=True,
                          footer_text="vbrain API reference")
    out.mkdir(parents=True, exist_ok=True)
    pdoc.pdoc(*present, output_directory=out)
    return out / "index.html"


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "html",
                        help="output folder (default docs/api/html)")
    args = parser.parse_args()
    index = build(args.out)
    print(f"wrote {index}")


if __name__ == "__main__":
    main()
