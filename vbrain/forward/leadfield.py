"""Lead fields: how region activity appears at EEG, MEG and SEEG sensors.

A :class:`LeadField` holds a gain matrix ``gain[sensor, region]``, the
sensors' :class:`mne.Info` and a ``scale`` that turns model units into dipole
moments. The sensor monitors (:class:`vbrain.monitors.EEG` and friends) record
``gain @ (scale * signal)``.

Units
-----
vbrain works in mm and ms; this module converts positions to metres (SI) at
the MNE boundary, in :func:`mm_to_m` only. Gains are SI per unit dipole
moment: V/(A·m) for EEG and SEEG, T/(A·m) for magnetometers and
(T/m)/(A·m) for planar gradiometers, as MNE computes them. ``scale`` is in
A·m per model unit, so ``gain * scale`` is in V (or T) per model unit.

Coordinate frames
-----------------
MNE computes in its *head* frame: origin midway between the pre-auricular
points, x towards the right ear, y towards the nasion, z up (Neuromag
convention). Connectome centres (mm) are put into it according to ``frame``:

``"head"``
    The centres already are MNE head coordinates (mm).
``"mri"``
    The centres are a FreeSurfer subject's surface-RAS (MRI) coordinates, in
    mm (x right, y anterior, z up): atlas centres in MNI space fall here,
    since fsaverage's MRI space is MNI305. ``trans`` (MNE's head<->MRI
    transform: an :class:`mne.transforms.Transform`, a ``-trans.fif`` file,
    or ``"fsaverage"`` for the one MNE ships) maps them to head coordinates.
``"tvb"``
    The space of tvb-data's demo subject (its connectomes, cortex and
    sensors): x anterior, y left, z up, origin at the centre of the cortex
    (a CTF-like orientation; mm). The axes are rotated to MNE's and the
    origin is put at the sphere model's centre (:meth:`LeadField.sphere`, so
    that any montage's sphere holds the whole TVB cortex) or else at the
    centre of MNE's fsaverage inner skull in head coordinates,
    ``TVB_ORIGIN_HEAD`` = (-1.4, 11.9, 49.8) mm. This is an approximate
    placement (tvb-data's own surfaces and sensors are not mutually aligned
    either); adjust it with ``shift``.
``"auto"`` (default)
    ``"tvb"`` when the connectome's right hemisphere lies towards -y (TVB's
    orientation, judged from ``hemispheres`` or from labels such as
    ``rA1``/``lA1``), else ``"mri"`` with ``trans="fsaverage"`` unless a
    ``trans`` is given.

``shift`` (mm, head coordinates) is added last: a simple offset to nudge an
atlas into a head model.

Orientations
------------
``"fixed"``: each region is one dipole along its connectome orientation
(normalised; rotated with the frame). ``"free"``: each region is 3 dipoles
(x, y, z); they are combined into the *orientation of maximum power*: the
first right singular vector ``v`` of the region's (n_sensors, 3) block, so
the region column is ``G_r @ v`` (its norm is the block's largest singular
value). The sign of ``v`` is chosen so that it points away from the centroid
of all region positions (outwards, like cortical normals). When channels of
different types (magnetometers and gradiometers) are combined, each type's
rows are divided by their RMS before the SVD so that no unit dominates the
choice of ``v``; the returned gain is in the channels' own units.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._check import check_array, check_option, check_range, suggest, validate_type

logger = logging.getLogger(__name__)

#: where TVB's origin (centre of its demo cortex) is put, mm, MNE head coordinates
TVB_ORIGIN_HEAD = np.array([-1.4, 11.9, 49.8])
#: rotation from TVB's axes (x anterior, y left, z up) to MNE head axes (x right, y anterior, z up)
TVB_ROTATION = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])

#: tvb-data's sensor files sit above and behind its cortex; this shift (mm, TVB frame) lines
#: them up: it best matches the shipped EEG gains to a sphere model of the same sensors
#: (see LeadField.tvb)
TVB_SENSOR_SHIFT = np.array([-10.0, 0.0, -65.0])

#: SI unit of each channel type's signal
CH_UNITS = {"eeg": "V", "seeg": "V", "ecog": "V", "dbs": "V", "mag": "T", "grad": "T/m"}
KINDS = ("eeg", "meg", "seeg")
ORIENTATIONS = ("fixed", "free")
FRAMES = ("auto", "head", "mri", "tvb")
MEG_SYSTEMS = ("neuromag", "ctf151", "ctf275")

# tvb-data files (a dependency; GPL data is read in place, never copied)
_TVB_FILES = {
    "eeg": ("projectionMatrix/projection_eeg_65_surface_16k.npy",
            "sensors/eeg_brainstorm_65.txt"),
    "meg": ("projectionMatrix/projection_meg_276_surface_16k.npy",
            "sensors/meg_brainstorm_276.txt"),
}
# (tvb-data's regionMapping_16k_192 has 16500 entries, not 16384: it does not fit the 16k cortex)
_TVB_MAPPINGS = {76: ("regionMapping/regionMapping_16k_76.txt", "connectivity/connectivity_76.zip")}

_DEFAULT_SCALE = 1e-9


def mm_to_m(x: Any) -> np.ndarray:
    """Convert lengths in mm (vbrain's unit) to metres (MNE's unit)."""
    return np.asarray(x, dtype=np.float64) * 1e-3


class LeadField:
    """A gain matrix from region dipoles to sensors, with the sensors' ``mne.Info``.

    Build one with :meth:`sphere`, :meth:`bem`, :meth:`seeg`, :meth:`tvb` or
    :meth:`from_gain`; use it with :class:`vbrain.monitors.EEG` (``MEG``,
    ``SEEG``) and :func:`vbrain.forward.sensors.to_raw`.

    Parameters
    ----------
    gain : array (n_sensors, n_regions)
        SI per unit dipole moment: V/(A·m) (EEG, SEEG), T/(A·m)
        (magnetometers), (T/m)/(A·m) (gradiometers).
    info : mne.Info
        The sensors, in gain row order (``info["sfreq"]`` is a placeholder;
        :func:`~vbrain.forward.sensors.to_raw` sets the real one).
    kind : {"eeg", "meg", "seeg"}
        Which monitor it serves.
    scale : float or array (n_regions,), default 1e-9
        Dipole moment per unit of the model's signal, A·m. The default
        (1 nA·m per unit) is an order of magnitude, not a calibration:
        a region of ~1000 mm^2 of synchronously active cortex carries
        ~0.1-1 µA·m (0.16-0.77 nA·m/mm^2, Murakami & Okada 2015).
    region_labels : sequence of str, optional
        Regions in column order; checked against the simulation's connectome.
    positions : array (n_regions, 3), optional
        Dipole positions, m, MNE head coordinates.
    orientations : array (n_regions, 3), optional
        Unit dipole orientations in head coordinates (fixed or, for
        ``"free"``, the maximum-power ones).
    description : str
        How it was made (shown in the repr).

    Attributes
    ----------
    ch_names, ch_types : list of str
    units : list of str
        SI unit of each channel ("V", "T", "T/m").
    n_sensors, n_regions : int

    References
    ----------
    Murakami S, Okada Y (2015). Invariance in current dipole moment density
    across brain structures and species. NeuroImage 111:49-58.
    """

    def __init__(self, gain: Any, info: Any, *, kind: str, scale: Any = _DEFAULT_SCALE,
                 region_labels: Sequence[str] | None = None, positions: Any = None,
                 orientations: Any = None, description: str = "") -> None:
        import mne

        validate_type("info", info, mne.Info)
        check_option("kind", kind, KINDS)
        gain = check_array("gain", gain)
        if gain.ndim != 2:
            raise ValueError(f"gain must be 2-D (n_sensors, n_regions), got shape {gain.shape}.")
        if gain.shape[0] != len(info.ch_names):
            raise ValueError(
                f"gain must have one row per channel of info: ({len(info.ch_names)}, n_regions), "
                f"got {gain.shape}."
            )
        if gain.shape[1] < 1:
            raise ValueError("gain has no region columns.")
        n_reg = gain.shape[1]
        types = info.get_channel_types()
        wanted = {"eeg": ("eeg",), "seeg": ("seeg", "ecog", "dbs"), "meg": ("mag", "grad")}[kind]
        bad = sorted({t for t in types if t not in wanted})
        if bad:
            raise ValueError(f"A {kind!r} lead field takes channels of type {list(wanted)}, but "
                             f"info has {bad}; pick them out first (info.pick(...)).")
        self._gain = _frozen(gain)
        self.info = info.copy()
        self.kind = kind
        self.scale = _check_scale(scale, n_reg)
        if region_labels is not None:
            region_labels = tuple(str(s) for s in region_labels)
            dup = sorted(k for k, c in Counter(region_labels).items() if c > 1)
            if dup:
                raise ValueError(f"region_labels must be unique, but {dup[:5]} appear more "
                                 "than once.")
            if len(region_labels) != n_reg:
                raise ValueError(f"region_labels has {len(region_labels)} entries but gain has "
                                 f"{n_reg} region columns.")
        self.region_labels = region_labels
        self.positions = None if positions is None else _frozen(
            check_array("positions", positions, shape=(n_reg, 3)))
        self.orientations = None if orientations is None else _frozen(
            check_array("orientations", orientations, shape=(n_reg, 3)))
        self.description = description

    # -- properties -------------------------------------------------------
    @property
    def gain(self) -> np.ndarray:
        """Gain (n_sensors, n_regions), SI per A·m (read-only)."""
        return self._gain

    @property
    def ch_names(self) -> list[str]:
        """Channel names, in row order."""
        return list(self.info.ch_names)

    @property
    def ch_types(self) -> list[str]:
        """MNE channel types ("eeg", "mag", "grad", "seeg"), in row order."""
        return list(self.info.get_channel_types())

    @property
    def units(self) -> list[str]:
        """SI unit of each channel's signal ("V", "T", "T/m")."""
        return [CH_UNITS[t] for t in self.ch_types]

    @property
    def n_sensors(self) -> int:
        """Number of channels."""
        return self._gain.shape[0]

    @property
    def n_regions(self) -> int:
        """Number of regions (columns)."""
        return self._gain.shape[1]

    def effective_gain(self) -> np.ndarray:
        """``gain * scale``: SI (V or T) per unit of the model's signal, (n_sensors, n_regions)."""
        return self._gain * self.scale[None, :]

    def project(self, signal: Any) -> np.ndarray:
        """Sensor signals of region signals: ``effective_gain() @ signal``.

        Parameters
        ----------
        signal : array (..., n_regions)
            Region signals in model units (e.g. a time series, time first).

        Returns
        -------
        array (..., n_sensors)
            SI (V or T).
        """
        x = check_array("signal", signal)
        if x.ndim < 1 or x.shape[-1] != self.n_regions:
            raise ValueError(f"signal must end with the region axis ({self.n_regions}), "
                             f"got shape {x.shape}.")
        return x @ self.effective_gain().T

    def with_scale(self, scale: Any) -> LeadField:
        """A copy with another ``scale`` (A·m per model unit, scalar or per region)."""
        return LeadField(self._gain, self.info, kind=self.kind, scale=scale,
                         region_labels=self.region_labels, positions=self.positions,
                         orientations=self.orientations, description=self.description)

    def __repr__(self) -> str:
        types = sorted(set(self.ch_types))
        return (f"<LeadField {self.kind}: {self.n_sensors} sensors ({', '.join(types)}) x "
                f"{self.n_regions} regions, scale {_scale_text(self.scale)} A·m/unit"
                f"{'; ' + self.description if self.description else ''}>")

    # -- constructors -----------------------------------------------------
    @classmethod
    def from_gain(cls, gain: Any, info: Any, *, kind: str | None = None,
                  scale: Any = _DEFAULT_SCALE, region_labels: Sequence[str] | None = None
                  ) -> LeadField:
        """Wrap a gain matrix computed elsewhere (e.g. an MNE forward solution).

        Parameters
        ----------
        gain : array (n_sensors, n_regions)
            SI per A·m, rows in ``info`` channel order.
        info : mne.Info
            The sensors (all of one kind: EEG, MEG or SEEG).
        kind : {"eeg", "meg", "seeg"}, optional
            Default: from the channel types of ``info``.
        scale : float or array (n_regions,), default 1e-9
            A·m per model unit.
        region_labels : sequence of str, optional

        Returns
        -------
        LeadField
        """
        import mne

        validate_type("info", info, mne.Info)
        if kind is None:
            kind = _kind_of(info.get_channel_types())
        return cls(gain, info, kind=kind, scale=scale, region_labels=region_labels,
                   description="user gain")

    @classmethod
    def sphere(cls, connectome: Any, montage: Any = "standard_1020", *, meg: Any = None,
               orientation: str = "fixed", frame: str = "auto", trans: Any = None,
               shift: Any = None, origin: Any = "auto", head_radius: Any = "auto",
               relative_radii: Sequence[float] = (0.90, 0.92, 0.97, 1.0),
               sigmas: Sequence[float] = (0.33, 1.0, 0.004, 0.33),
               scale: Any = _DEFAULT_SCALE, verbose: Any = None) -> LeadField:
        """EEG or MEG lead field of a spherical head model (MNE's, works offline).

        Parameters
        ----------
        connectome : Connectome
            Region centres (mm) and, for ``orientation="fixed"``, orientations.
        montage : str, mne.channels.DigMontage or mne.Info, default "standard_1020"
            EEG electrodes: a built-in MNE montage name (``"standard_1020"``,
            ``"biosemi64"``, ... see :func:`mne.channels.get_builtin_montages`),
            a montage, or the Info of a recording (its EEG channels). With
            ``meg`` it only shapes the head (the sphere is fitted to it).
        meg : str or mne.Info, optional
            Make an MEG lead field instead: a canonical system shipped with
            MNE (``"neuromag"``, ``"ctf151"``, ``"ctf275"``; MNE >= 1.12), placed
            so the centre of the sphere fitted to its sensors is the head
            sphere's origin, or the Info of a recording (its MEG channels and
            ``dev_head_t``).
        orientation : {"fixed", "free"}
            See the module notes.
        frame : {"auto", "head", "mri", "tvb"}
            Coordinate frame of the connectome centres; see the module notes.
        trans : str, path or mne.transforms.Transform, optional
            head<->MRI transform for ``frame="mri"`` (``"fsaverage"``: MNE's).
        shift : array (3,), optional
            Offset added to the centres in head coordinates, mm.
        origin : "auto" or array (3,)
            Sphere centre, mm, head coordinates; "auto" fits it to the montage.
        head_radius : "auto" or float
            Outer radius, mm; "auto" fits it to the montage.
        relative_radii, sigmas : sequence of float
            Layer radii relative to ``head_radius`` (brain, CSF, skull, scalp)
            and conductivities in S/m (MNE's defaults).
        scale : float or array (n_regions,), default 1e-9
            A·m per model unit.
        verbose : bool, str, int or None
            MNE's log level for its calls.

        Returns
        -------
        LeadField

        Raises
        ------
        ValueError
            Unknown montage (with a suggestion), centres all zero, a region
            outside the brain sphere, orientations missing or zero.
        """
        import mne

        check_option("orientation", orientation, ORIENTATIONS)
        eeg_info = _montage_info(montage)
        if meg is None:
            info, kind = eeg_info, "eeg"
        else:
            info, kind = _meg_info(meg), "meg"
        fit_r, fit_o = None, None
        if isinstance(origin, str) or isinstance(head_radius, str):
            if isinstance(origin, str):
                check_option("origin", origin, ("auto",))
            if isinstance(head_radius, str):
                check_option("head_radius", head_radius, ("auto",))
            fit_r, fit_o, _ = mne.bem.fit_sphere_to_headshape(eeg_info, units="m", verbose=False)
        r0 = fit_o if isinstance(origin, str) else mm_to_m(
            check_array("origin", origin, shape=(3,)))
        radius = fit_r if isinstance(head_radius, str) else mm_to_m(
            check_range("head_radius", head_radius, 0.0, low_inclusive=False))
        sphere = mne.make_sphere_model(r0=np.asarray(r0), head_radius=float(radius),
                                       relative_radii=relative_radii, sigmas=sigmas,
                                       verbose=verbose if verbose is not None else False)
        if meg is not None and isinstance(meg, str):
            _center_device(info, np.asarray(r0))
        pos, ori, labels = _head_dipoles(connectome, orientation, frame, trans, shift,
                                         tvb_origin=np.asarray(r0) * 1e3)
        inner = float(sphere["layers"][0]["rad"])
        dist = np.linalg.norm(pos - np.asarray(r0), axis=1)
        outside = np.nonzero(dist >= inner)[0]
        if outside.size:
            raise ValueError(
                f"{outside.size} region centre(s) lie outside the brain sphere (radius "
                f"{inner * 1e3:.1f} mm around {np.round(np.asarray(r0) * 1e3, 1).tolist()} mm, "
                f"head coordinates): {[labels[i] for i in outside[:5]]}"
                f"{' ...' if outside.size > 5 else ''}. Check frame= (now {frame!r}), "
                "trans= or shift=.")
        g_free = _mne_free_gain(info, pos, None, sphere, kind, verbose, labels=labels)
        gain, ori = _orient(g_free, ori, pos, info.get_channel_types(), orientation)
        desc = f"sphere ({len(sphere['layers'])} layers, r={radius * 1e3:.1f} mm), {orientation}"
        return cls(gain, info, kind=kind, scale=scale, region_labels=labels, positions=pos,
                   orientations=ori, description=desc)

    @classmethod
    def bem(cls, connectome: Any, montage: Any = "standard_1020", *, meg: Any = None,
            bem: Any = None, subject: str | None = None,
            subjects_dir: str | os.PathLike | None = None, trans: Any = "fsaverage",
            conductivity: Sequence[float] = (0.3, 0.006, 0.3), ico: int | None = 4,
            orientation: str = "fixed", frame: str = "mri", shift: Any = None,
            scale: Any = _DEFAULT_SCALE, verbose: Any = None) -> LeadField:
        """EEG or MEG lead field of a boundary-element head model (MNE).

        Give either ``bem`` (a solution, its file, or BEM surfaces) or a
        FreeSurfer ``subject`` and ``subjects_dir`` with watershed surfaces in
        ``<subjects_dir>/<subject>/bem/`` (``inner_skull.surf``, and for EEG
        ``outer_skull.surf`` and ``outer_skin.surf``). A 1-layer (inner skull)
        BEM, ``conductivity=(0.3,)``, serves MEG only; EEG needs 3 layers.

        Parameters
        ----------
        connectome : Connectome
            Region centres (mm) in the subject's MRI (surface RAS) space by
            default (``frame="mri"``).
        montage, meg, orientation, shift, scale, verbose
            As for :meth:`sphere`.
        bem : mne.bem.ConductorModel, path or list of dict, optional
            A BEM solution, a ``-bem-sol.fif`` file, or surfaces (as
            :func:`mne.make_bem_model` returns) to solve.
        subject : str, optional
        subjects_dir : path-like, optional
        trans : str, path or mne.transforms.Transform, default "fsaverage"
            head<->MRI transform (``"fsaverage"``: MNE's bundled one).
        conductivity : sequence of float
            S/m per layer, inside out, for :func:`mne.make_bem_model`.
        ico : int or None
            Surface downsampling for :func:`mne.make_bem_model`.
        frame : {"auto", "head", "mri", "tvb"}
            Frame of the connectome centres.

        Returns
        -------
        LeadField

        Raises
        ------
        ValueError
            Neither ``bem`` nor ``subject`` given; regions outside the inner
            skull; a 1-layer BEM for EEG.
        """
        import mne
        from mne.io.constants import FIFF

        check_option("orientation", orientation, ORIENTATIONS)
        trans_t = _read_trans(trans)
        if bem is None:
            if subject is None:
                raise ValueError("LeadField.bem needs bem= (a BEM solution or surfaces) or "
                                 "subject= and subjects_dir= of a FreeSurfer subject.")
            surfs = mne.make_bem_model(subject, ico=ico, conductivity=tuple(conductivity),
                                       subjects_dir=subjects_dir, verbose=_v(verbose))
            sol = mne.make_bem_solution(surfs, verbose=_v(verbose))
        elif isinstance(bem, (str, os.PathLike)):
            sol = mne.read_bem_solution(bem, verbose=_v(verbose))
        elif isinstance(bem, list):
            sol = mne.make_bem_solution(bem, verbose=_v(verbose))
        else:
            sol = bem
        if meg is None:
            info, kind = _montage_info(montage), "eeg"
            if len(sol["surfs"]) == 1:
                raise ValueError("A 1-layer (inner skull) BEM cannot model EEG (the skull "
                                 "shapes the potentials); give 3 layers or use meg=.")
        else:
            info, kind = _meg_info(meg), "meg"
            if isinstance(meg, str):  # centre the sensor array on the inner skull
                inner = sol["surfs"][0]
                centre = inner["rr"].mean(axis=0)
                if inner["coord_frame"] == FIFF.FIFFV_COORD_MRI and trans_t is not None:
                    centre = mne.transforms.apply_trans(trans_t, centre)
                _center_device(info, centre)
        pos, ori, labels = _head_dipoles(connectome, orientation, frame, trans_t, shift)
        g_free = _mne_free_gain(info, pos, trans_t, sol, kind, verbose, labels=labels)
        gain, ori = _orient(g_free, ori, pos, info.get_channel_types(), orientation)
        desc = f"BEM ({len(sol['surfs'])} layers), {orientation}"
        return cls(gain, info, kind=kind, scale=scale, region_labels=labels, positions=pos,
                   orientations=ori, description=desc)

    @classmethod
    def seeg(cls, connectome: Any, contacts: Any, names: Sequence[str] | None = None, *,
             sigma: float = 0.33, orientation: str = "fixed", frame: str = "auto",
             trans: Any = None, shift: Any = None, scale: Any = _DEFAULT_SCALE) -> LeadField:
        r"""SEEG lead field: point dipoles in an infinite homogeneous conductor.

        .. math:: V(\mathbf r) = \frac{\mathbf p \cdot (\mathbf r - \mathbf r_0)}
                                     {4 \pi \sigma \, |\mathbf r - \mathbf r_0|^3}

        with :math:`\mathbf p` the dipole moment (A·m) at the region centre
        :math:`\mathbf r_0`, :math:`\mathbf r` the contact (m) and
        :math:`\sigma` the conductivity (S/m); the reference is at infinity.

        Parameters
        ----------
        connectome : Connectome
            Region centres (mm) and orientations.
        contacts : array (n_contacts, 3)
            Contact positions, mm, in the same frame as the centres.
        names : sequence of str, optional
            Contact names (default ``"C1", "C2", ...``).
        sigma : float, default 0.33
            Conductivity, S/m (grey matter / CSF-free brain: 0.33).
        orientation : {"fixed", "free"}
        frame, trans, shift
            As for :meth:`sphere`; they only place the contacts and dipoles
            in head coordinates for the Info (the potentials depend on
            relative positions only).
        scale : float or array (n_regions,), default 1e-9

        Returns
        -------
        LeadField
        """
        import mne

        check_option("orientation", orientation, ORIENTATIONS)
        sigma = check_range("sigma", sigma, 0.0, low_inclusive=False)
        contacts = check_array("contacts", contacts)
        if contacts.ndim != 2 or contacts.shape[1] != 3 or contacts.shape[0] < 1:
            raise ValueError(f"contacts must have shape (n_contacts, 3) in mm, got "
                             f"{contacts.shape}.")
        n_c = contacts.shape[0]
        names = [f"C{i + 1}" for i in range(n_c)] if names is None else [str(s) for s in names]
        if len(names) != n_c:
            raise ValueError(f"names has {len(names)} entries but contacts has {n_c} rows.")
        if len(set(names)) != n_c:
            raise ValueError("contact names must be unique.")
        frame_r = _resolve_frame(connectome, frame, trans)
        pos, ori, labels = _head_dipoles(connectome, orientation, frame, trans, shift)
        cpos = _to_head(contacts, frame_r, trans, shift)
        g_free = point_dipole_gain(cpos, pos, sigma)
        gain, ori = _orient(g_free, ori, pos, ["seeg"] * n_c, orientation)
        info = mne.create_info(names, 1000.0, "seeg")
        montage = mne.channels.make_dig_montage(dict(zip(names, cpos)), coord_frame="head")
        info.set_montage(montage)
        return cls(gain, info, kind="seeg", scale=scale, region_labels=labels, positions=pos,
                   orientations=ori, description=f"point dipoles, sigma={sigma:g} S/m, "
                                                 f"{orientation}")

    @classmethod
    def tvb(cls, kind: str = "eeg", *, n_regions: int = 76, scale: Any = _DEFAULT_SCALE
            ) -> LeadField:
        """tvb-data's lead field summed into regions (a ready cross-check).

        tvb-data ships gains of its demo subject's 16384-vertex cortex
        (``projection_eeg_65_surface_16k.npy``, ``projection_meg_276_surface_16k.npy``,
        computed with Brainstorm, one dipole per vertex along its normal).
        The columns of the vertices that ``regionMapping_16k_<n_regions>``
        assigns to a region are summed: the region column is the field of all
        its vertices active with unit moment. tvb-data does not state units;
        Brainstorm's are V/(A·m) and T/(A·m). Channels whose gain is not finite
        (eye electrodes IO1/IO2; MEG reference and stimulus channels) are
        dropped. Sensor positions go into the Info as for ``frame="tvb"``,
        after ``TVB_SENSOR_SHIFT`` (tvb-data's sensor files are offset from its
        cortex by about 65 mm up and 10 mm back; with the shift, a sphere
        model of the same sensors reproduces the shipped EEG topographies of
        the 76 regions with a median correlation of 0.98). tvb-data's MEG
        sensor positions match neither its cortex nor its EEG sensors and its
        MEG orientations are all equal: the MEG channels are listed as radial
        point magnetometers at the positions as shipped, for labels and rough
        plots only; the MEG gain itself is used as shipped.

        Parameters
        ----------
        kind : {"eeg", "meg"}
        n_regions : {76}
            Parcellation (tvb-data's 192-region mapping does not match its
            16k cortex); region labels come from tvb-data's connectivity.
        scale : float or array (n_regions,), default 1e-9
            A·m per model unit.

        Returns
        -------
        LeadField
        """
        import mne
        from mne.io.constants import FIFF

        from ..connectome import Connectome

        check_option("kind", kind, tuple(_TVB_FILES))
        check_option("n_regions", n_regions, tuple(_TVB_MAPPINGS))
        root = _tvb_data_root()
        proj_file, sensor_file = _TVB_FILES[kind]
        map_file, conn_file = _TVB_MAPPINGS[n_regions]
        proj = np.load(root / proj_file)
        mapping = np.loadtxt(root / map_file).astype(np.int64)
        names, xyz, _ = _read_tvb_sensors(root / sensor_file)
        if proj.shape != (len(names), mapping.size):
            raise ValueError(f"tvb-data mismatch: projection {proj.shape}, {len(names)} sensors, "
                             f"{mapping.size} vertices.")
        keep = np.all(np.isfinite(proj), axis=1)
        if not keep.all():
            logger.info("tvb %s: dropping %d channel(s) without a finite gain: %s", kind,
                        int((~keep).sum()), [n for n, k in zip(names, keep) if not k])
        onehot = np.zeros((mapping.size, n_regions))
        onehot[np.arange(mapping.size), mapping] = 1.0
        gain = proj[keep] @ onehot
        names = [n for n, k in zip(names, keep) if k]
        shift = TVB_SENSOR_SHIFT if kind == "eeg" else 0.0
        pos = _to_head(xyz[keep] + shift, "tvb", None, None)
        labels = Connectome.load(root / conn_file).labels
        if kind == "eeg":
            info = mne.create_info(names, 1000.0, "eeg")
            info.set_montage(mne.channels.make_dig_montage(dict(zip(names, pos)),
                                                           coord_frame="head"))
        else:
            info = mne.create_info(names, 1000.0, "mag")
            _, centre = _fit_sphere(pos)
            for ch, p in zip(info["chs"], pos):  # device frame = head frame
                ez = (p - centre) / np.linalg.norm(p - centre)
                ex = np.cross([0.0, 1.0, 0.0], ez)
                ex /= np.linalg.norm(ex)
                ch["loc"][:] = np.concatenate([p, ex, np.cross(ez, ex), ez])
                ch["coil_type"] = FIFF.FIFFV_COIL_POINT_MAGNETOMETER
                ch["coord_frame"] = FIFF.FIFFV_COORD_DEVICE
            info["dev_head_t"] = mne.transforms.Transform("meg", "head", np.eye(4))
        return cls(gain, info, kind=kind if kind == "eeg" else "meg", scale=scale,
                   region_labels=labels,
                   description=f"tvb-data {kind} projection summed over "
                               f"regionMapping_16k_{n_regions}")


# -- helpers -----------------------------------------------------------------
def point_dipole_gain(contacts_m: np.ndarray, dipoles_m: np.ndarray, sigma: float) -> np.ndarray:
    """Free-orientation gain (n_contacts, 3 n_dipoles) of dipoles in an infinite conductor.

    ``G[c, 3 j + k] = (r_c - r_j)_k / (4 pi sigma |r_c - r_j|^3)``, V/(A·m),
    positions in m, sigma in S/m.
    """
    d = contacts_m[:, None, :] - dipoles_m[None, :, :]
    r = np.linalg.norm(d, axis=-1)
    if np.any(r == 0):
        c, j = np.argwhere(r == 0)[0]
        raise ValueError(f"Contact {c} coincides with dipole {j}: the potential is singular "
                         "there; move the contact.")
    g = d / (4.0 * np.pi * sigma * r[..., None] ** 3)
    return g.reshape(contacts_m.shape[0], -1)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _v(verbose: Any) -> Any:
    """MNE verbosity: quiet unless asked."""
    return False if verbose is None else verbose


def _check_scale(scale: Any, n: int) -> np.ndarray:
    s = check_array("scale", scale)
    if s.ndim == 0:
        s = np.full(n, float(s))
    if s.shape != (n,):
        raise ValueError(f"scale must be a number or have shape ({n},) (one per region), "
                         f"got {s.shape}.")
    s.setflags(write=False)
    return s


def _scale_text(s: np.ndarray) -> str:
    return f"{s[0]:g}" if np.all(s == s[0]) else f"{s.min():g}..{s.max():g}"


def _kind_of(types: Sequence[str]) -> str:
    kinds = {"eeg": "eeg", "mag": "meg", "grad": "meg", "seeg": "seeg", "ecog": "seeg",
             "dbs": "seeg"}
    found = {kinds.get(t) for t in types}
    if None in found or len(found) != 1:
        raise ValueError(f"info must hold channels of one kind (EEG, MEG or SEEG), got types "
                         f"{sorted(set(types))}; pick them first (info.pick(...)).")
    return found.pop()


def _builtin_montages() -> dict[str, str]:
    """Built-in montage names -> the name MNE's current version knows them by."""
    import mne

    names = {n: n for n in mne.channels.get_builtin_montages()}
    try:  # MNE >= 1.13 renamed standard_* to colin27_* (same positions)
        from mne.channels.montage import _DEPRECATED_STANDARD_MONTAGES as old
    except ImportError:  # pragma: no cover - depends on the MNE version
        old = {}
    for k, v in old.items():
        if v in names:
            names[k] = v
    return names


def _montage_info(montage: Any) -> Any:
    """An Info of EEG channels with positions, from a montage name, DigMontage or Info."""
    import mne

    if isinstance(montage, mne.Info):
        picks = mne.pick_types(montage, meg=False, eeg=True, exclude=())
        if not len(picks):
            raise ValueError("montage (an Info) has no EEG channels.")
        info = mne.pick_info(montage, picks)
        if info.get_montage() is None:
            raise ValueError("montage (an Info) has no channel positions; set a montage first.")
        return info
    if isinstance(montage, str):
        names = _builtin_montages()
        if montage not in names:
            raise ValueError(f"Unknown montage {montage!r}.{suggest(montage, names)} MNE's "
                             f"built-in montages: {sorted(names)}.")
        montage = mne.channels.make_standard_montage(names[montage])
    validate_type("montage", montage, (str, mne.channels.DigMontage, mne.Info))
    info = mne.create_info(list(montage.ch_names), 1000.0, "eeg")
    info.set_montage(montage, verbose=False)
    return info


def _meg_info(meg: Any) -> Any:
    """An Info of MEG channels from a canonical system name or a recording's Info."""
    import mne

    if isinstance(meg, str):
        check_option("meg", meg, MEG_SYSTEMS)
        if not hasattr(mne.channels, "read_meg_canonical_info"):
            raise ValueError(f"meg={meg!r} needs MNE >= 1.12 (read_meg_canonical_info); "
                             f"this is MNE {mne.__version__}. Pass the mne.Info of a recording.")
        return mne.channels.read_meg_canonical_info(meg, verbose=False)
    validate_type("meg", meg, (str, mne.Info))
    picks = mne.pick_types(meg, meg=True, ref_meg=False, exclude=())
    if not len(picks):
        raise ValueError("meg (an Info) has no MEG channels.")
    info = mne.pick_info(meg, picks)
    if info["dev_head_t"] is None:
        raise ValueError("meg (an Info) has no dev_head_t (device -> head transform).")
    return info


def _center_device(info: Any, centre_head_m: np.ndarray) -> None:
    """Set dev_head_t to a translation putting the sensors' sphere centre at ``centre_head_m``."""
    import mne

    rr = np.array([ch["loc"][:3] for ch in info["chs"]])
    _, centre_dev = _fit_sphere(rr)
    t = np.eye(4)
    t[:3, 3] = np.asarray(centre_head_m) - centre_dev
    info["dev_head_t"] = mne.transforms.Transform("meg", "head", t)


def _fit_sphere(points: np.ndarray) -> tuple[float, np.ndarray]:
    """Least-squares sphere through points: radius, centre."""
    a = np.c_[2 * points, np.ones(len(points))]
    b = (points ** 2).sum(axis=1)
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    centre = sol[:3]
    return float(np.sqrt(sol[3] + centre @ centre)), centre


def _read_trans(trans: Any) -> Any:
    """None, "fsaverage", a file or a Transform -> an MRI->head Transform (or None)."""
    import mne

    if trans is None:
        return None
    if isinstance(trans, str) and trans == "fsaverage":
        trans = Path(mne.__file__).parent / "data" / "fsaverage" / "fsaverage-trans.fif"
    if isinstance(trans, (str, os.PathLike)):
        trans = mne.read_trans(trans)
    validate_type("trans", trans, (mne.transforms.Transform, str, os.PathLike))
    if trans["from"] == mne.io.constants.FIFF.FIFFV_COORD_HEAD:
        trans = mne.transforms.invert_transform(trans)
    return trans


_SIDE_PREFIXES = (("ctx-rh-", "ctx-lh-"), ("ctx_rh_", "ctx_lh_"), ("right-", "left-"),
                  ("right_", "left_"), ("rh.", "lh."), ("rh_", "lh_"), ("r_", "l_"),
                  ("r-", "l-"))


def _hemisphere_sides(conn: Any) -> np.ndarray | None:
    """+1 right, -1 left, 0 unknown per region; None when nothing is known."""
    hemi = getattr(conn, "hemispheres", None)
    if hemi is not None:
        return np.where(np.asarray(hemi, dtype=bool), 1, -1)
    side = np.zeros(conn.n_regions, dtype=int)
    labels = [str(s) for s in conn.labels]
    for i, lab in enumerate(labels):
        low = lab.lower()
        for r, lft in _SIDE_PREFIXES:
            if low.startswith(r):
                side[i] = 1
                break
            if low.startswith(lft):
                side[i] = -1
                break
        else:  # TVB's short labels: rA1 / lA1 (lower-case side, upper-case name)
            if len(lab) > 1 and lab[0] in "rl" and lab[1].isupper():
                side[i] = 1 if lab[0] == "r" else -1
            elif low.endswith(("_r", "-r", " r", "_rh", ".r")):
                side[i] = 1
            elif low.endswith(("_l", "-l", " l", "_lh", ".l")):
                side[i] = -1
    return side if (side > 0).any() and (side < 0).any() else None


def _resolve_frame(conn: Any, frame: str, trans: Any) -> str:
    check_option("frame", frame, FRAMES)
    if frame != "auto":
        return frame
    side = _hemisphere_sides(conn)
    if side is not None:
        c = conn.centres
        d = c[side > 0].mean(axis=0) - c[side < 0].mean(axis=0)
        axis = int(np.argmax(np.abs(d)))
        if axis == 1 and d[1] < 0:
            logger.info("frame='auto': right hemisphere towards -y, using frame='tvb'.")
            return "tvb"
        if not (axis == 0 and d[0] > 0):
            raise ValueError(
                "frame='auto' cannot tell the connectome's coordinate frame: its right "
                f"hemisphere lies along {'xyz'[axis]}{'+' if d[axis] > 0 else '-'}, neither x+ "
                "(head/MRI) nor y- (TVB). Pass frame='head', 'mri' or 'tvb'.")
    logger.info("frame='auto': using frame='mri' (MNI/fsaverage-like centres).")
    return "mri"


def _to_head(xyz_mm: np.ndarray, frame: str, trans: Any, shift: Any,
             vectors: bool = False, tvb_origin: np.ndarray | None = None) -> np.ndarray:
    """Positions (or, with ``vectors``, directions) in mm of ``frame`` -> head coordinates, m.

    ``tvb_origin`` (mm, head) is where TVB's origin goes (default ``TVB_ORIGIN_HEAD``).
    """
    import mne

    x = np.asarray(xyz_mm, dtype=np.float64)
    if frame == "tvb":
        origin = TVB_ORIGIN_HEAD if tvb_origin is None else tvb_origin
        x = x @ TVB_ROTATION.T + (0.0 if vectors else origin)
    elif frame == "mri":
        t = _read_trans("fsaverage" if trans is None else trans)
        if vectors:
            x = x @ t["trans"][:3, :3].T
        else:
            x = mne.transforms.apply_trans(t, mm_to_m(x)) * 1e3
    if vectors:
        return x
    if shift is not None:
        x = x + check_array("shift", shift, shape=(3,))
    return mm_to_m(x)


def _head_dipoles(conn: Any, orientation: str, frame: str, trans: Any, shift: Any,
                  tvb_origin: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    """Region dipole positions (m, head) and unit orientations (head) of a connectome."""
    from ..connectome import Connectome

    validate_type("connectome", conn, Connectome)
    centres = conn.centres
    if not np.any(centres):
        raise ValueError("The connectome's centres are all zero (none were given); a lead "
                         "field needs region positions in mm: Connectome(..., centres=...).")
    frame = _resolve_frame(conn, frame, trans)
    pos = _to_head(centres, frame, trans, shift, tvb_origin=tvb_origin)
    ori = None
    if orientation == "fixed":
        o = conn.orientations
        if o is None:
            raise ValueError("orientation='fixed' needs the connectome's orientations, but it "
                             "has none; give Connectome(..., orientations=...) or use "
                             "orientation='free'.")
        norm = np.linalg.norm(o, axis=1)
        if np.any(norm == 0):
            bad = [conn.labels[i] for i in np.nonzero(norm == 0)[0][:5]]
            raise ValueError(f"orientation='fixed': region(s) {bad} have a zero orientation "
                             "vector; fix them or use orientation='free'.")
        ori = _to_head(o / norm[:, None], frame, trans, None, vectors=True)
        ori = ori / np.linalg.norm(ori, axis=1)[:, None]
    return pos, ori, tuple(conn.labels)


def _mne_free_gain(info: Any, pos: np.ndarray, trans: Any, bem: Any, kind: str, verbose: Any,
                   labels: Sequence[str] | None = None) -> np.ndarray:
    """MNE forward of free dipoles at ``pos`` (m, head): (n_sensors, 3 n), head-frame xyz."""
    import mne

    if trans is None:
        src_pos = pos
    else:  # the discrete source space lives in MRI coordinates
        src_pos = mne.transforms.apply_trans(mne.transforms.invert_transform(trans), pos)
    nn = np.tile([0.0, 0.0, 1.0], (len(pos), 1))
    src = mne.setup_volume_source_space(pos=dict(rr=src_pos, nn=nn), verbose=_v(verbose))
    fwd = mne.make_forward_solution(info, trans=trans, src=src, bem=bem, meg=kind == "meg",
                                    eeg=kind == "eeg", mindist=0.0, verbose=_v(verbose))
    kept = fwd["src"][0]["vertno"]
    if len(kept) != len(pos):
        lost = sorted(set(range(len(pos))) - set(kept.tolist()))
        names = [labels[i] for i in lost[:5]] if labels is not None else lost[:5]
        raise ValueError(f"{len(lost)} region centre(s) lie outside the head model's inner "
                         f"surface and were dropped by MNE: {names}"
                         f"{' ...' if len(lost) > 5 else ''}. Check frame=, trans= or shift=.")
    order = [fwd["sol"]["row_names"].index(n) for n in info.ch_names]
    return np.asarray(fwd["sol"]["data"])[order]


def _orient(g_free: np.ndarray, ori: np.ndarray | None, pos: np.ndarray,
            ch_types: Sequence[str], orientation: str) -> tuple[np.ndarray, np.ndarray]:
    """Free gain (n_sensors, 3 n) -> (n_sensors, n) along fixed or maximum-power orientations."""
    n = g_free.shape[1] // 3
    blocks = g_free.reshape(g_free.shape[0], n, 3)
    if orientation == "fixed":
        return np.einsum("snk,nk->sn", blocks, ori), ori
    types = np.asarray(ch_types)
    w = np.ones(len(types))
    if len(set(ch_types)) > 1:
        for t in set(ch_types):
            rows = types == t
            rms = np.sqrt(np.mean(g_free[rows] ** 2))
            w[rows] = 1.0 / rms if rms > 0 else 1.0
    outward = pos - pos.mean(axis=0)
    ori = np.empty((n, 3))
    for r in range(n):
        _, _, vt = np.linalg.svd(blocks[:, r, :] * w[:, None], full_matrices=False)
        v = vt[0]
        if v @ outward[r] < 0:
            v = -v
        ori[r] = v
    return np.einsum("snk,nk->sn", blocks, ori), ori


def _tvb_data_root() -> Path:
    try:
        import tvb_data
    except ImportError:  # pragma: no cover - tvb-data is a dependency
        raise ImportError("LeadField.tvb needs tvb-data: pip install tvb-data") from None
    return Path(tvb_data.__file__).parent


def _read_tvb_sensors(path: Path) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """TVB sensors file: ``name x y z [ox oy oz]`` (mm) -> names, positions, orientations."""
    names, rows = [], []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts:
            names.append(parts[0])
            rows.append([float(v) for v in parts[1:]])
    a = np.array(rows)
    return names, a[:, :3], (a[:, 3:6] if a.shape[1] >= 6 else None)
