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
import warnings
from pathlib import Path

#: the documented packages; every public submodule of them is found and documented
PACKAGES = ["vbrain", "vbrain.pipelines", "vbrain.atlases"]


def public_modules() -> list[str]:
    """Every importable public (not ``_``-prefixed) module of ``PACKAGES``."""
    import importlib
    import pkgutil

    names = []
    for package in PACKAGES:
        mod = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(mod.__path__, package + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return list(dict.fromkeys(names))


def build(out: Path) -> Path:
    """Render the reference into ``out``; return the index page."""
    try:
        import pdoc
        import pdoc.render
    except ImportError:
        sys.exit("pdoc is missing: pip install '.[docs]'")
    import importlib

    present = []
    for name in public_modules():
        try:
            importlib.import_module(name)
        except ImportError as err:  # a module of another version of vbrain
            print(f"skipping {name}: {err}", file=sys.stderr)
            continue
        present.append(name)
    pdoc.render.configure(docformat="numpy", math=True, search=True,
                          footer_text="vbrain API reference")
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # some packages (vbrain.forward, vbrain.pipelines) export names lazily; pdoc documents
        # them in their submodules and warns that the package-level names "do not resolve"
        warnings.filterwarnings("ignore", message=r".*__all__, but it does not resolve")
        # a package's __all__ may name a submodule that is also listed on its own
        warnings.filterwarnings("ignore", message=r".*has already been added")
        # run from the repository root, "vbrain" also names the source folder: pdoc documents
        # the installed (imported) package, which is what we want
        warnings.filterwarnings("ignore", message=r".*may refer to either the installed")
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
