"""Build ``tvb76_mni152_2mm.nii.gz`` + ``.tsv``: the default connectome's regions on the MNI152 grid.

What it makes
-------------
An approximate **Voronoi parcellation** of nilearn's MNI152 grey-matter mask
(2 mm, 99 x 117 x 95) into the 76 regions of vbrain's default connectome
(tvb-data's ``connectivity_76``): every mask voxel above the tentorium gets the
label of the nearest region centre of its own hemisphere. Label value =
region index + 1 in connectome order; 0 = background. It places simulated
region signals in voxel space (``bold_to_nifti``) and reduces MNI-space data
to the connectome's regions; it is **not an anatomical atlas**.

How
---
1. Centres: tvb-data's centres are in its demo subject's frame (x anterior,
   y left, z up, mm, origin near the centre of the cortex; see
   ``vbrain/forward/leadfield.py``). Axes to MNI (x right, y anterior, z up):
   ``MNI_x = -y_tvb``, ``MNI_y = x_tvb``, ``MNI_z = z_tvb``.
2. Mask: ``nilearn.datasets.load_mni152_gm_mask(resolution=2)`` (ships with
   nilearn, no download; threshold 0.2 on the ICBM152 2009 grey-matter
   probability map, then nilearn's closing), minus a crude *infratentorial*
   box (cerebellum and brainstem, which the 76 regions do not cover):
   voxels with ``y < -34 and z < -4 - 0.4 |x|`` (the tentorium, higher at the
   midline) or ``|x| < 14 and -34 <= y < -10 and z < -14`` (the brainstem),
   MNI mm.
3. Translation: the centres' centroid is moved onto the centroid of that
   (cerebral) mask. A least-squares affine needs point correspondences that
   we do not have (no landmarks shared by both frames), so only the
   translation is fitted; the axes keep their scale. Using the whole mask
   (with the cerebellum) instead puts the centroid ~7 mm too far back and
   ~8 mm too low, and leaves centres up to 12 mm outside the cerebral mask
   (versus 4.7 mm here).
4. Assignment: each mask voxel with MNI x > 0 goes to the nearest right
   ("r...") centre, x < 0 to the nearest left ("l...") centre, x = 0 to the
   nearest of all (Euclidean distance, scipy cKDTree).

Run it (~5 s)::

    python atlases/make_tvb76_mni.py          # rewrites the two files beside it

The output is deterministic for a given nilearn (mask) and tvb-data
(centres) version; ``tests/test_atlas_io.py`` checks the shipped files
against the connectome.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
IMAGE = "tvb76_mni152_2mm.nii.gz"
TABLE = "tvb76_mni152_2mm.tsv"

#: TVB demo frame (x anterior, y left, z up) -> MNI axes (x right, y anterior, z up)
TVB_TO_MNI = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def infratentorial(xyz: np.ndarray) -> np.ndarray:
    """True for points (n, 3), MNI mm, in the crude cerebellum + brainstem box."""
    x, y, z = xyz.T
    tent = (y < -34) & (z < -4 - 0.4 * np.abs(x))
    stem = (np.abs(x) < 14) & (y >= -34) & (y < -10) & (z < -14)
    return tent | stem


def mapped_centres(centres_tvb: np.ndarray, target_centroid: np.ndarray) -> np.ndarray:
    """TVB-frame centres (n, 3) -> MNI mm: rotate the axes, then put their centroid on the target."""
    rotated = np.asarray(centres_tvb, dtype=np.float64) @ TVB_TO_MNI.T
    return rotated + (np.asarray(target_centroid) - rotated.mean(axis=0))


def build() -> tuple:
    """Return (label image, labels, seed centres in MNI mm, translation, info dict)."""
    import nibabel as nib
    import nilearn
    from nilearn import datasets
    from scipy.spatial import cKDTree

    import vbrain as vb

    conn = vb.Connectome.load("atlases:default")
    labels = list(conn.labels)
    mask_img = datasets.load_mni152_gm_mask(resolution=2)
    affine = np.array(mask_img.affine, dtype=np.float64)
    mask = np.asarray(mask_img.dataobj) > 0
    ijk = np.argwhere(mask)
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    keep = ~infratentorial(xyz)
    ijk, xyz = ijk[keep], xyz[keep]

    seeds = mapped_centres(conn.centres, xyz.mean(axis=0))
    rotated = conn.centres @ TVB_TO_MNI.T
    translation = seeds[0] - rotated[0]
    right = np.array([lab.startswith("r") for lab in labels])
    left = np.array([lab.startswith("l") for lab in labels])
    if not (right | left).all():
        raise RuntimeError("every connectome label should start with r or l")
    if not (np.all(seeds[right, 0] > 0) and np.all(seeds[left, 0] < 0)):
        raise RuntimeError("a mapped centre lies in the wrong hemisphere")

    region = np.empty(len(xyz), dtype=np.int64)
    for side, sel in (("right", xyz[:, 0] > 0), ("left", xyz[:, 0] < 0),
                      ("midline", xyz[:, 0] == 0)):
        pool = {"right": right, "left": left, "midline": right | left}[side]
        index = np.nonzero(pool)[0]
        _, nearest = cKDTree(seeds[index]).query(xyz[sel])
        region[sel] = index[nearest]

    data = np.zeros(mask.shape, dtype=np.int16)
    data[tuple(ijk.T)] = region + 1
    counts = np.bincount(region, minlength=len(labels))
    if counts.min() == 0:
        empty = [labels[i] for i in np.nonzero(counts == 0)[0]]
        raise RuntimeError(f"empty regions: {empty}")
    img = nib.Nifti1Image(data, affine)
    img.header.set_data_dtype(np.int16)
    img.header.set_xyzt_units("mm")
    img.set_sform(affine, code="mni")
    img.set_qform(affine, code="mni")
    img.header["descrip"] = b"vbrain tvb76 Voronoi on MNI152 GM mask"
    info = {
        "nilearn": nilearn.__version__,
        "mask_voxels": int(mask.sum()),
        "infratentorial_removed": int((~keep).sum()),
        "labelled_voxels": len(xyz),
        "translation_mm": [round(float(v), 3) for v in translation],
        "region_voxels_min": int(counts.min()),
        "region_voxels_max": int(counts.max()),
    }
    return img, labels, seeds, translation, info


def write_table(path: Path, labels: list[str], seeds: np.ndarray) -> None:
    """BIDS-style label table: index, name, and the seed centre (MNI mm) of each region."""
    lines = ["index\tname\tseed_x\tseed_y\tseed_z"]
    for i, (lab, (x, y, z)) in enumerate(zip(labels, seeds)):
        lines.append(f"{i + 1}\t{lab}\t{x:.3f}\t{y:.3f}\t{z:.3f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Build the atlas and write the image and table (to this folder by default)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", type=Path, default=HERE)
    args = ap.parse_args(argv)
    img, labels, seeds, _, info = build()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    img.to_filename(args.out_dir / IMAGE)
    write_table(args.out_dir / TABLE, labels, seeds)
    print(json.dumps(info, indent=1))  # a script, not library code


if __name__ == "__main__":
    main()
