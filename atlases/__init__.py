"""Bundled connectomes and atlases (importable as ``vbrain.atlases``).

vbrain does not copy third-party data into its repository. The connectomes
listed here come from the ``tvb-data`` package (The Virtual Brain project,
GPL-3), a declared dependency of vbrain; this module only finds the files
inside that installed package. The one parcellation image shipped here,
``tvb76_mni152_2mm.nii.gz`` (+ ``.tsv``), is vbrain's own (BSD-3), made by
``make_tvb76_mni.py`` from the default connectome's centres and nilearn's
MNI152 grey-matter mask. See ``README.md`` beside this file for provenance
and licences.

Examples
--------
>>> from vbrain import atlases
>>> atlases.available()  # doctest: +SKIP
['default', 'tvb66', 'tvb68', 'tvb76', 'tvb96', 'tvb192']
>>> atlases.connectome_path("default").name  # doctest: +SKIP
'connectivity_76.zip'
>>> atlases.available_atlases()  # doctest: +SKIP
['default', 'tvb76_mni152']
>>> image, table = atlases.atlas_path("default")  # doctest: +SKIP
>>> from vbrain.atlas import Atlas
>>> Atlas.load("atlases:default").labels == vb.Connectome.load("atlases:default").labels  # doctest: +SKIP
True
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import NamedTuple

from vbrain._check import check_option, validate_type

__all__ = ["atlas_path", "available", "available_atlases", "connectome_path", "describe"]


class _Entry(NamedTuple):
    package: str
    resource: str
    description: str


_TVB = "tvb_data.connectivity"

#: Name -> where the file lives. "default" is an alias of "tvb76".
_CONNECTOMES: dict[str, _Entry] = {
    "tvb66": _Entry(_TVB, "connectivity_66.zip", "tvb-data 66-region connectivity"),
    "tvb68": _Entry(_TVB, "connectivity_68.zip", "tvb-data 68-region connectivity"),
    "tvb76": _Entry(_TVB, "connectivity_76.zip", "tvb-data 76-region connectivity"),
    "tvb96": _Entry(_TVB, "connectivity_96.zip", "tvb-data 96-region connectivity"),
    "tvb192": _Entry(
        _TVB, "connectivity_192.zip", "tvb-data 192-region connectivity"
    ),
}
_ALIASES: dict[str, str] = {"default": "tvb76"}


def available() -> list[str]:
    """Return the names of the bundled connectomes.

    Returns
    -------
    names : list of str
        Names accepted by :func:`connectome_path` and by
        ``Connectome.load("atlases:NAME")``; ``"default"`` comes first.
    """
    return list(_ALIASES) + list(_CONNECTOMES)


def describe(name: str) -> str:
    """Return a one-line description of a bundled connectome.

    Parameters
    ----------
    name : str
        One of :func:`available`.

    Returns
    -------
    description : str
        What the data is and which package provides it.
    """
    key = _resolve(name)
    entry = _CONNECTOMES[key]
    alias = f" (alias of {key!r})" if key != name else ""
    return f"{entry.description}, file {entry.resource} in {entry.package}{alias}"


def connectome_path(name: str = "default") -> Path:
    """Return the path of a bundled connectome file.

    Parameters
    ----------
    name : str, default="default"
        One of :func:`available`: ``"default"`` (the 76-region tvb-data
        connectivity), ``"tvb66"``, ``"tvb68"``, ``"tvb76"``, ``"tvb96"`` or
        ``"tvb192"``.

    Returns
    -------
    path : pathlib.Path
        The TVB-format zip inside the installed ``tvb_data`` package.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled connectome.
    ModuleNotFoundError
        If the ``tvb-data`` package is not installed.
    FileNotFoundError
        If the installed ``tvb-data`` does not hold the expected file.
    """
    entry = _CONNECTOMES[_resolve(name)]
    try:
        root = importlib.resources.files(entry.package)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"The bundled connectome {name!r} comes from the tvb-data package, "
            "which is not installed. Install it with: pip install tvb-data"
        ) from None
    resource = root / entry.resource
    path = Path(str(resource))
    if not resource.is_file() or not path.is_file():
        raise FileNotFoundError(
            f"The bundled connectome {name!r} should be {entry.resource} in the "
            f"{entry.package} package, but it was not found there ({path}). "
            "Reinstall tvb-data (pip install --force-reinstall tvb-data)."
        )
    return path


def _resolve(name: str) -> str:
    validate_type("name", name, str)
    check_option("atlas name", name, available())
    return _ALIASES.get(name, name)


# -- parcellation images (label image + TSV table), shipped in this folder ----------
#: Name -> (image, table, description). "default" is an alias of "tvb76_mni152".
_ATLASES: dict[str, tuple[str, str, str]] = {
    "tvb76_mni152": (
        "tvb76_mni152_2mm.nii.gz", "tvb76_mni152_2mm.tsv",
        ("the default connectome's 76 regions as an approximate Voronoi parcellation of "
         "nilearn's MNI152 grey-matter mask, 2 mm grid (made by make_tvb76_mni.py)")),
}
_ATLAS_ALIASES: dict[str, str] = {"default": "tvb76_mni152"}


def available_atlases() -> list[str]:
    """Return the names of the bundled parcellations.

    Returns
    -------
    names : list of str
        Names accepted by :func:`atlas_path` and by
        ``vbrain.atlas.Atlas.load("atlases:NAME")``; ``"default"`` first.
    """
    return list(_ATLAS_ALIASES) + list(_ATLASES)


def atlas_path(name: str = "default") -> tuple[Path, Path]:
    """Return the label image and label table of a bundled parcellation.

    Parameters
    ----------
    name : str, default="default"
        One of :func:`available_atlases`: ``"default"`` (alias of
        ``"tvb76_mni152"``: the 76 regions of ``Connectome.load("atlases:default")``,
        label value = region index + 1, on the MNI152 2 mm grid).

    Returns
    -------
    image, table : pathlib.Path
        The NIfTI label image (int16) and its BIDS-style TSV (``index``,
        ``name``, plus the seed centre of each region ``seed_x/y/z``, MNI mm).

    Raises
    ------
    ValueError
        If ``name`` is not a bundled atlas (with a suggestion).
    FileNotFoundError
        If the installed package lacks the files (a broken install).
    """
    image, table, _ = _ATLASES[_resolve_atlas(name)]
    root = importlib.resources.files(__name__)
    paths = (Path(str(root / image)), Path(str(root / table)))
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(
                f"The bundled atlas {name!r} should include {p.name} in vbrain.atlases, but it "
                f"is missing ({p}). Reinstall vbrain, or rebuild it with "
                "python atlases/make_tvb76_mni.py.")
    return paths


def _resolve_atlas(name: str) -> str:
    validate_type("name", name, str)
    check_option("atlas name", name, available_atlases())
    return _ATLAS_ALIASES.get(name, name)
