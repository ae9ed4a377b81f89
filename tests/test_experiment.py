"""Experiment files: validation before any work, the end-to-end runner, the run record."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import vbrain as vb
from vbrain.experiment import (
    SCHEMA,
    ExperimentError,
    describe_schema,
    load_experiment,
    run_experiment,
    to_toml,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLE = Path(__file__).parents[1] / "examples" / "experiment.toml"


def small(tmp_path, **tables):
    """A short experiment dict: G2D on the bundled connectome, 500 ms, tavg only."""
    cfg = {"model": {"name": "Generic2dOscillator"},
           "integration": {"duration": 500.0, "noise": 1e-4},
           "monitors": [{"kind": "tavg", "period": 1.0}],
           "outputs": {"folder": str(tmp_path / "out"), "files": ["netcdf"]}}
    for k, v in tables.items():
        cfg[k] = v if not isinstance(v, dict) else {**cfg.get(k, {}), **v}
    return cfg


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("patch, path, message", [
    ({"modle": {}}, "modle", "Did you mean 'model'"),
    ({"model": {"name": "RedWongWang"}}, "model.name", "Did you mean 'ReducedWongWang'"),
    ({"model": {"name": "ReducedWongWang", "parameters": {"ww": 0.5}}},
     "model.parameters.ww", "Did you mean 'w'"),
    ({"model": {"name": "Generic2dOscillator", "parameters": {"a": "high"}}},
     "model.parameters.a", "must be a number or a list of numbers"),
    ({"integration": {"dt": 0.0}}, "integration.dt", "must be > 0, but got 0"),
    ({"integration": {"dt": "0.1"}}, "integration.dt", "must be a number, but got str"),
    ({"integration": {"integrator": "rk5"}}, "integration.integrator",
     "Allowed: ['heun', 'euler', 'rk4']"),
    ({"integration": {"durration": 10.0}}, "integration.durration", "Did you mean 'duration'"),
    ({"coupling": {"name": "Linear", "parameters": {"c": 1.0}}}, "coupling.parameters.c",
     "Linear has no parameter 'c'"),
    ({"connectome": {"normalise": "sum"}}, "connectome.normalise", "Allowed: ['none', 'max'"),
    ({"connectome": {"threshold_proportion": 1.5}}, "connectome.threshold_proportion",
     "must be <= 1, but got 1.5"),
    ({"monitors": [{"kind": "tavgg"}]}, "monitors[0].kind", "Did you mean 'tavg'"),
    ({"monitors": [{"kind": "tavg", "variables": ["X"]}]}, "monitors[0].variables",
     "has no state variable 'X'"),
    ({"monitors": [{"kind": "bold", "tr": -1.0}]}, "monitors[0].tr", "must be > 0"),
    ({"outputs": {"files": ["netcdf", "pdf"]}}, "outputs.files", "Allowed: ['netcdf'"),
    ({"fit": {"params": {"coupling.x": [0.0, 1.0]}}, "subject": {"fc": "fc.npy"}},
     "fit.params.coupling.x", "cannot fit 'coupling.x'"),
    ({"fit": {"params": {"coupling.a": [1.0, 0.0, 4]}}, "subject": {"fc": "fc.npy"}},
     "fit.params.coupling.a", "low <= high"),
    ({"fit": {"params": {"a": [0.0, 1.0]}}, "subject": {"fc": "fc.npy"}},
     "fit.params.a", "ambiguous: write one of ['model.a', 'coupling.a']"),
    ({"subject": {"fmri": "missing.nii.gz"}}, "subject.fmri", "no file or folder"),
    ({"subject": {"bids": "."}}, "subject.participant", "needed with subject.bids"),
    ({"dask": {"scheduler": "cluster"}}, "dask.scheduler", "tcp://host:8786"),
    ({"fit": {"params": {"coupling.a": [0.0, 1.0]}, "signal": "tavg"},
      "subject": {"fc": "fc.npy"}}, "fit.variable", "state variables ['V', 'W']"),
    ({"pipeline": {"recipe": "fmrii"}, "subject": {"fc": "fc.npy"}}, "pipeline.recipe",
     "Did you mean 'fmri'"),
    ({"stimuli": [{"waveform": {"kind": "Pulsetrain"}, "pattern": {"kind": "Labels",
                                                                    "labels": ["rA1"]}}]},
     "stimuli[0].waveform.kind", "Did you mean 'PulseTrain'"),
    ({"stimuli": [{"waveform": {"kind": "PulseTrain", "frequency": 130.0, "width": 0.1,
                                "amplitude": 1.0},
                   "pattern": {"kind": "Labels", "labels": ["rA1"]}, "variable": ["V", "Q"]}]},
     "stimuli[0].variable", "no state variable 'Q'"),
    ({"stimuli": [{"waveform": {"kind": "PulseTrain", "frequency": 130.0, "width": 0.1,
                                "amplitude": 1.0},
                   "pattern": {"kind": "Labels", "labels": ["rA1"]}, "variable": 3}]},
     "stimuli[0].variable", "must be a state variable name or a list of names"),
    ({"stimuli": [{"waveform": {"kind": "Sinusoid", "frequency": 10.0, "amplitude": 1.0,
                                "phse": 0.0}, "pattern": {"kind": "Labels", "labels": "rA1"}}]},
     "stimuli[0].waveform.phse", "Did you mean 'phase'"),
])
def test_invalid_files_name_the_key_and_the_allowed_values(tmp_path, patch, path, message):
    np.save(tmp_path / "fc.npy", np.eye(76))
    cfg = small(tmp_path)
    for k, v in patch.items():
        cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) else v
    with pytest.raises(ExperimentError) as info:
        load_experiment(cfg, base_dir=tmp_path)
    assert any(p == path and message in m for p, m in info.value.problems), info.value.problems
    assert f"{path}: " in str(info.value)
    assert not (tmp_path / "out").exists()  # nothing was run


def test_every_problem_is_reported_at_once(tmp_path):
    cfg = small(tmp_path, integration={"dt": -1.0, "seed": 1.5},
                model={"name": "JansenRit", "parameters": {"A": 3.25, "AA": 1.0}})
    with pytest.raises(ExperimentError, match="3 problems") as info:
        load_experiment(cfg, base_dir=tmp_path)
    assert {p for p, _ in info.value.problems} == {"integration.dt", "integration.seed",
                                                    "model.parameters.AA"}


def test_invalid_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nname = 1\n")
    with pytest.raises(ExperimentError, match="not valid TOML"):
        load_experiment(bad)
    with pytest.raises(FileNotFoundError, match="No experiment file"):
        load_experiment(tmp_path / "nope.toml")


def test_defaults_are_filled_and_the_resolved_toml_reads_back_identically(tmp_path):
    exp = load_experiment(small(tmp_path, model={"name": "reducedwongwang",
                                                 "parameters": {"w": [0.5] * 76}}),
                          base_dir=tmp_path)
    cfg = exp.config
    assert cfg["model"]["name"] == "ReducedWongWang"  # canonical spelling
    rww = vb.models.ReducedWongWang.parameters
    assert cfg["model"]["parameters"]["I_o"] == rww["I_o"].default  # every parameter spelled out
    assert cfg["model"]["parameters"]["w"] == [0.5] * 76
    for key, spec in SCHEMA["integration"].items():
        assert key in cfg["integration"] and (key in ("duration", "noise") or
                                              cfg["integration"][key] == spec.default)
    text = to_toml(cfg)
    assert tomllib.loads(text) == cfg
    again = load_experiment(tomllib.loads(text), base_dir=tmp_path / "elsewhere")
    assert again.config == cfg  # absolute paths: the folder of the file no longer matters


def test_overrides_apply_before_validation(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text(to_toml(small(tmp_path)))
    exp = load_experiment(path, overrides=["integration.duration=1234.5", "model.name=JansenRit",
                                           "outputs.files=[\"netcdf\", \"report\"]"])
    assert exp.config["integration"]["duration"] == 1234.5
    assert exp.config["model"]["name"] == "JansenRit"
    assert exp.config["outputs"]["files"] == ["netcdf", "report"]
    with pytest.raises(ExperimentError, match="integration.dt: must be > 0"):
        load_experiment(path, overrides=["integration.dt=0"])
    with pytest.raises(ExperimentError, match="KEY.PATH=VALUE"):
        load_experiment(path, overrides=["integration.dt"])


def test_schema_text_lists_units_defaults_and_choices():
    text = describe_schema()
    assert "[integration]" in text and "integration step, ms" in text and "default 0.1" in text
    assert "[[monitors]] kind = 'bold'" in text and "repetition time, ms" in text
    assert "one of ['heun', 'euler', 'rk4']" in text


# -- running --------------------------------------------------------------------------------------
def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_example_runs_end_to_end_in_short_mode_and_reruns_identically(tmp_path):
    import mne
    import nibabel as nib

    out = tmp_path / "run"
    exp = load_experiment(EXAMPLE, overrides=[
        "integration.duration=2000", f"outputs.folder={json.dumps(str(out))}",
        'outputs.files=["netcdf", "bold_nifti", "eeg_fif"]'])
    rec = run_experiment(exp, progress=False)
    assert rec.status == "complete"
    res = vb.Result.load(out / "simulation.nc")
    assert set(res.keys()) == {"tavg", "bold", "eeg"}
    assert res.tavg.sizes == {"time": 1000, "variable": 2, "region": 76}
    assert res.bold.sizes["time"] == 2
    # the connectome was normalised as the file says: strongest weight 1
    assert res.attrs["connectome_sha256"] == \
        vb.Connectome.load("atlases:default").normalized("max").checksum()
    assert json.loads(res.attrs["model_params"])["a"] == -0.5
    img = nib.load(out / "simulation_bold.nii.gz")
    assert img.shape[3] == 2 and img.header.get_zooms()[3] == pytest.approx(1.0)
    raw = mne.io.read_raw_fif(out / "simulation_eeg.fif", verbose=False)
    assert raw.info["sfreq"] == pytest.approx(250.0)
    # the record: resolved experiment + checksums of inputs and outputs
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["vbrain_version"] == vb.__version__
    assert {"numpy", "mne", "python"} <= set(record["versions"])
    assert record["inputs"][-1] == {"path": str(EXAMPLE), "sha256": sha(EXAMPLE),
                                    "bytes": EXAMPLE.stat().st_size}
    for role in ("simulation", "bold_nifti", "eeg_fif", "experiment"):
        assert record["outputs"][role]["sha256"] == sha(rec.outputs[role])
    assert set(record["seconds"]) == {"subject data", "simulation", "outputs"}
    # re-running the resolved file gives the same numbers
    again = run_experiment(out / "experiment.toml", progress=False,
                           overrides=["outputs.overwrite=true", 'outputs.files=["netcdf"]',
                                      f"outputs.folder={json.dumps(str(tmp_path / 'rerun'))}"])
    for name in ("tavg", "bold", "eeg"):
        np.testing.assert_array_equal(again.result[name].values, res[name].values)


def test_existing_outputs_are_refused_before_any_work(tmp_path):
    cfg = small(tmp_path)
    run_experiment(load_experiment(cfg, base_dir=tmp_path), progress=False)
    stamp = (tmp_path / "out" / "simulation.nc").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="outputs.overwrite"):
        run_experiment(load_experiment(cfg, base_dir=tmp_path), progress=False)
    assert (tmp_path / "out" / "simulation.nc").stat().st_mtime_ns == stamp


def test_connectome_options_and_per_region_parameters(tmp_path):
    conn = vb.Connectome.load("atlases:default")
    keep = list(conn.labels[:10])
    cfg = small(tmp_path, connectome={"subset": keep, "normalise": "row_sum",
                                      "threshold_proportion": 0.5},
                model={"name": "Generic2dOscillator", "parameters": {"I": [0.1] * 10}})
    rec = run_experiment(load_experiment(cfg, base_dir=tmp_path), progress=False)
    assert list(rec.result.tavg["region"].values) == keep
    want = conn.subset(keep).normalized("row_sum").thresholded(proportion=0.5)
    assert rec.result.attrs["connectome_sha256"] == want.checksum()
    bad = small(tmp_path / "bad", model={"name": "Generic2dOscillator",
                                         "parameters": {"I": [0.1] * 3}})
    with pytest.raises(ExperimentError, match=r"model.parameters.I: a per-region list needs 76"):
        run_experiment(load_experiment(bad, base_dir=tmp_path), progress=False)


def test_region_average_and_coupling_monitors(tmp_path):
    cfg = small(tmp_path, monitors=[{"kind": "spatial", "period": 2.0},
                                    {"kind": "global", "period": 2.0, "variables": ["V"]},
                                    {"kind": "subsample", "period": 2.0},
                                    {"kind": "coupling"}])
    res = run_experiment(load_experiment(cfg, base_dir=tmp_path), progress=False).result
    assert res.coupling.sizes == {"time": 5000, "variable": 1, "region": 76}
    sub = res.subsample.values
    assert list(res.spatial.group.values) == ["cortical"]  # every region of tvb76 is cortical
    np.testing.assert_allclose(res.spatial.values[..., 0], sub.mean(axis=2))
    np.testing.assert_allclose(res["global"].values[:, 0], sub[:, 0].mean(axis=1))
    bad = small(tmp_path / "bad", monitors=[{"kind": "spatial", "mask": "lobes"}])
    with pytest.raises(ExperimentError, match=r"monitors\[0\].mask.*Allowed: \['cortical'"):
        load_experiment(bad, base_dir=tmp_path)


def test_stimulus_reaches_the_labelled_regions_only(tmp_path):
    stim = {"variable": "V",
            "waveform": {"kind": "Pulse", "time": 100.0, "width": 5.0, "amplitude": 2.0},
            "pattern": {"kind": "Labels", "labels": ["rA1"]}}
    base = small(tmp_path, integration={"noise": 0.0, "duration": 200.0})
    base["coupling"] = {"name": "Linear", "parameters": {"a": 0.0}}
    plain = run_experiment(load_experiment(base, base_dir=tmp_path), progress=False).result
    stimulated = run_experiment(load_experiment(
        {**base, "stimuli": [stim], "outputs": {"folder": str(tmp_path / "s"),
                                                "files": ["netcdf"]}},
        base_dir=tmp_path), progress=False).result
    diff = np.abs(stimulated.tavg.sel(variable="V").values - plain.tavg.sel(variable="V").values)
    region = list(plain.tavg["region"].values).index("rA1")
    t = plain.tavg["time"].values
    assert diff[t <= 100.0].max() == 0.0  # nothing before the pulse
    assert diff[:, region].max() > 1.0  # 2 per ms for 5 ms moves V by several units
    assert np.delete(diff, region, axis=1).max() == 0.0  # no coupling: nobody else moves
    bad = {**base, "stimuli": [{**stim, "pattern": {"kind": "Labels", "labels": ["rAA1"]}}],
           "outputs": {"folder": str(tmp_path / "bad"), "files": ["netcdf"]}}
    with pytest.raises(ExperimentError, match=r"stimuli\[0\].pattern: .*rAA1"):
        run_experiment(load_experiment(bad, base_dir=tmp_path), progress=False)


def bids_dataset(root: Path, n_vol: int = 80) -> np.ndarray:
    """Write sub-01's resting BOLD: region signals with a known FC painted on the bundled atlas
    (every 4th voxel of its 2 mm MNI grid); return that FC."""
    import nibabel as nib

    from vbrain.atlas import Atlas

    atlas = Atlas.load("atlases:default")
    index = atlas.region_indices()[::4, ::4, ::4]  # -1 outside, else the region's index
    affine = atlas.affine @ np.diag([4.0, 4.0, 4.0, 1.0])
    rng = np.random.default_rng(3)
    n = atlas.n_regions
    series = rng.standard_normal((n_vol, 4)) @ rng.standard_normal((4, n)) \
        + 0.5 * rng.standard_normal((n_vol, n))
    table = np.zeros((n + 1, n_vol), np.float32)
    table[1:] = 100.0 + series.T
    func = root / "sub-01" / "func"
    func.mkdir(parents=True)
    img = nib.Nifti1Image(table[index + 1], affine)
    img.header.set_xyzt_units("mm", "sec")
    img.to_filename(func / "sub-01_task-rest_bold.nii.gz")
    (func / "sub-01_task-rest_bold.json").write_text(json.dumps({"RepetitionTime": 2.0}))
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "synthetic", "BIDSVersion": "1.9.0"}))
    return np.corrcoef(series.T)


def test_from_raw_bids_data_to_a_fitted_model(tmp_path):
    """BIDS fMRI -> pipeline -> FC target -> grid fit of the coupling -> fitted simulation."""
    bids_dataset(tmp_path / "bids")
    cfg = {
        "subject": {"bids": "bids", "participant": "sub-01"},
        "pipeline": {"recipe": "fmri", "fmri": {"confounds": False, "fcd_window": "40 s"}},
        "model": {"name": "Generic2dOscillator"},
        "integration": {"duration": 1000.0, "noise": 1e-3},
        "monitors": [{"kind": "tavg", "period": 10.0}],
        "fit": {"params": {"coupling.a": [0.0, 0.02, 3]}, "signal": "tavg:10", "variable": "V",
                "transient": 100.0},
        "outputs": {"folder": "out", "files": ["netcdf", "fit"]},
        "dask": {"scheduler": "sync"},
    }
    exp = load_experiment(cfg, base_dir=tmp_path)
    rec = run_experiment(exp, progress=False)
    out = tmp_path / "out"
    targets = sorted((out / "derivatives").rglob("*desc-targets_bold.nc"))
    assert len(targets) == 1
    fitted = json.loads((out / "fit" / "fitted_params.json").read_text())
    a = fitted["fitted"]["coupling__a"]
    assert a in (0.0, 0.01, 0.02)
    assert np.isfinite(fitted["goodness_of_fit"]["fc_corr"])
    assert rec.fit.scores.size == 3  # the whole grid was scored
    assert np.asarray(rec.fit.targets["fc"]).shape == (76, 76)  # from the subject's fMRI
    assert rec.fit.best["coupling__a"] == a
    assert json.loads(rec.result.attrs["coupling_params"])["a"] == a  # the fitted model ran
    record = json.loads((out / "run.json").read_text())
    assert record["fit"]["best"]["coupling__a"] == a
    assert any(r["path"].endswith("sub-01_task-rest_bold.nii.gz") for r in record["inputs"])
    assert set(record["seconds"]) == {"subject data", "fit", "simulation", "outputs"}


INSET = {"region": "rA1", "dt": 0.01, "populations": [{"name": "qif", "model": "qif", "n": 200}]}


@pytest.mark.parametrize("patch, path, message", [
    ({"populations": [{"name": "qif", "model": "qiff", "n": 10}]}, "insets[0].populations[0].model",
     "Did you mean 'qif'"),
    ({"populations": [{"name": "qif", "model": "qif", "size": 10}]},
     "insets[0].populations[0].size", "Allowed: ['name', 'model', 'n'"),
    ({"outputs": [{"kind": "SpikeToRate", "populations": "qif", "variable": "r"}]},
     "insets[0].outputs[0].kind", "Did you mean 'SpikesToRate'"),
    ({"dt": 0.0}, "insets[0].dt", "must be > 0"),
    ({"region": None}, "insets[0].region", "needed"),
])
def test_invalid_insets_name_the_key(tmp_path, patch, path, message):
    inset = {k: v for k, v in {**INSET, **patch}.items() if v is not None}
    cfg = small(tmp_path, model={"name": "MontbrioPazoRoxin"})
    cfg["insets"] = [inset]
    with pytest.raises(ExperimentError) as info:
        load_experiment(cfg, base_dir=tmp_path)
    assert any(p == path and message in m for p, m in info.value.problems), info.value.problems


def test_inset_replaces_a_region_and_its_raster_is_reported(tmp_path):
    from vbrain.report import write_run_report

    cfg = small(tmp_path, model={"name": "MontbrioPazoRoxin"},
                integration={"duration": 50.0, "dt": 0.01, "noise": 0.0})
    cfg["coupling"] = {"name": "Linear", "parameters": {"a": 0.1}}
    cfg["insets"] = [INSET]
    rec = run_experiment(load_experiment(cfg, base_dir=tmp_path), progress=False)
    res = rec.result
    spikes = res["inset_rA1_spikes"]
    assert spikes.sizes["time"] > 100  # 200 QIF neurons spiking for 50 ms
    rate = res["inset_rA1_rate"].sel(population="qif").values
    assert np.all(rate >= 0) and rate.mean() > 1.0  # Hz
    # the region's r (kHz) is the inset's rate: the monitor sees the inset, not the mean field
    r = res.tavg.sel(variable="r", region="rA1").values
    assert np.corrcoef(r[5:], rate[5:len(r)])[0, 1] > 0.5
    text = write_run_report(res, tmp_path / "r.html").read_text()
    assert "<h2 id='insets'>Insets</h2>" in text and "Inset raster: rA1" in text
    bad = {**cfg, "insets": [{**INSET, "region": "rAA1"}],
           "outputs": {"folder": str(tmp_path / "bad"), "files": ["netcdf"]}}
    with pytest.raises(ExperimentError, match=r"insets\[0\].region: no region 'rAA1'.*'rA1'"):
        run_experiment(load_experiment(bad, base_dir=tmp_path), progress=False)


@pytest.mark.parametrize("path", sorted(EXAMPLE.parent.glob("*.toml")), ids=lambda p: p.stem)
def test_every_example_experiment_is_valid(path):
    exp = load_experiment(path)
    assert exp.output_folder.parent == EXAMPLE.parent
    assert tomllib.loads(exp.to_toml()) == exp.config


def test_stimulation_example_runs_in_short_mode(tmp_path):
    """The thalamic drive shows up in the stimulated regions' state after the onset."""
    exp = load_experiment(EXAMPLE.parent / "experiment_stimulation.toml", overrides=[
        "integration.duration=1400", f"outputs.folder={json.dumps(str(tmp_path))}",
        'outputs.files=["netcdf"]',
        "monitors=[{kind = 'tavg', period = 1.0, variables = ['y4']}]"])
    res = run_experiment(exp, progress=False).result
    y = res.tavg.sel(variable="y4").values  # the stimulated variable, mV
    t = res.tavg["time"].values
    labels = list(res.tavg["region"].values)
    hit = [labels.index("rTCS"), labels.index("lTCS")]
    before, after = (t > 800) & (t <= 1000), t > 1000
    jump = np.abs(y[after][:, hit]).max() - np.abs(y[before][:, hit]).max()
    assert jump > 1.0


def test_the_same_experiment_runs_on_a_dask_scheduler(tmp_path):
    """[dask] scheduler = <address>: the simulation runs as a task there, with the same numbers."""
    distributed = pytest.importorskip("distributed")
    base = ["integration.duration=500", 'outputs.files=["netcdf"]',
            "monitors=[{kind = 'tavg'}]"]
    local = run_experiment(load_experiment(EXAMPLE, overrides=[
        *base, f"outputs.folder={json.dumps(str(tmp_path / 'local'))}"]), progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        remote = run_experiment(load_experiment(EXAMPLE, overrides=[
            *base, f"outputs.folder={json.dumps(str(tmp_path / 'remote'))}",
            f"dask.scheduler={json.dumps(cluster.scheduler_address)}"]), progress=False)
        ran_there = any("simulate" in name for name in cluster.scheduler.task_prefixes)
    assert remote.status == "complete" and ran_there
    np.testing.assert_array_equal(remote.result["tavg"].values, local.result["tavg"].values)
    record = json.loads((tmp_path / "remote" / "run.json").read_text())
    assert record["status"] == "complete"
