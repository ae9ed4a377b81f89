"""``vbrain fit``: targets in, fitted parameters + re-runnable model + report out."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import xarray as xr

import vbrain as vb
from vbrain.fit import FCCorrelation, functional_connectivity
from vbrain.fit.cli import register
from vbrain.fit.personalize import load_model_config, load_simulation, load_targets


def fit_main(argv):
    """Parse and run ``vbrain fit`` as the main command will (after ``register``)."""
    parser = argparse.ArgumentParser(prog="vbrain")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["fit", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def subject(tmp_path_factory):
    """A 10-region subset of the default connectome and a 'subject' simulated on it."""
    tmp = tmp_path_factory.mktemp("subject")
    conn = vb.Connectome.load("atlases:default").subset(list(range(0, 76, 8))[:10])
    conn_path = conn.save(tmp / "conn.zip")
    sim = vb.Simulation(conn, vb.models.Generic2dOscillator(a=0.0), vb.coupling.Linear(a=0.25),
                        dt=0.5, seed=7, noise=vb.noise.Additive(1e-3),
                        monitors=[vb.monitors.TemporalAverage(10.0), vb.monitors.Bold(tr=500.0)])
    res = sim.run(30_000.0, progress=False)
    v = res.tavg.sel(variable="V", time=slice(500.1, None)).values
    fc = functional_connectivity(v)
    np.save(tmp / "fc.npy", fc)
    labels = list(conn.labels)
    header = "region," + ",".join(labels)
    rows = [f"{lab}," + ",".join(repr(float(x)) for x in row) for lab, row in zip(labels, fc)]
    (tmp / "fc.csv").write_text("\n".join([header, *rows]) + "\n")
    from vbrain.pipelines.fmri import fcd

    bold = res.bold.isel(variable=0).sel(time=slice(5000.1, None))
    bold_series = xr.DataArray(bold.values, dims=("time", "region"),
                               coords={"time": bold.time.values, "region": labels},
                               attrs={"tr_ms": 500.0})
    ds = xr.Dataset({"fc": xr.DataArray(functional_connectivity(bold.values),
                                        dims=("region_i", "region_j"),
                                        coords={"region_i": labels, "region_j": labels}),
                     "fcd": fcd(bold_series, "20 vol", "4 vol")}, attrs={"tr_ms": 500.0})
    ds.to_netcdf(tmp / "targets.nc", engine="h5netcdf")
    return {"dir": tmp, "conn": conn, "conn_path": conn_path, "fc": fc}


COMMON = ["--model", "Generic2dOscillator", "--model-param", "a=0", "--noise", "1e-3",
          "--dt", "0.5", "--seed", "1", "-q"]


def test_fit_writes_parameters_model_and_report(subject, tmp_path, capsys):
    out = tmp_path / "fit"
    rc = fit_main([str(subject["dir"] / "fc.npy"), "--connectome", str(subject["conn_path"]),
                   *COMMON, "--param", "coupling.a=0.05:0.45:9", "--duration", "10000",
                   "--transient", "500", "--signal", "tavg:10", "--variable", "V",
                   "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    stdout = capsys.readouterr().out
    assert "coupling.a =" in stdout and "vbrain simulate --config" in stdout
    for name in ("fitted_params.json", "model.json", "connectome.zip", "landscape.nc",
                 "report.html", "report.md", "fc.png", "landscape.png"):
        assert (out / name).is_file(), name
    assert len(list((out / "sweep" / "tasks").glob("task-*.npz"))) == 1
    params = json.loads((out / "fitted_params.json").read_text())
    a_fit = params["fitted"]["coupling__a"]
    assert 0.05 <= a_fit <= 0.45 and a_fit == pytest.approx(0.25, abs=0.101)
    assert set(params["goodness_of_fit"]) == {"fc_corr", "loss"}
    landscape = xr.open_dataarray(out / "landscape.nc", engine="h5netcdf")
    assert landscape.dims == ("coupling__a",) and landscape.size == 9
    assert float(landscape.min()) == pytest.approx(params["goodness_of_fit"]["loss"])
    html = (out / "report.html").read_text()
    assert "fc.png" in html and "landscape.png" in html and "Goodness of fit" in html

    # the model reloads as `vbrain simulate` arguments ...
    cfg = load_model_config(out / "model.json")
    assert cfg["model"] == "Generic2dOscillator" and cfg["seed"] == 1
    assert cfg["coupling_param"][0] == f"a={a_fit!r}"
    assert "a=0.0" in cfg["param"]
    assert vb.Connectome.load(cfg["connectome"]).checksum() == subject["conn"].checksum()
    from vbrain.cli import _simulate, build_parser

    args = build_parser().parse_args(["simulate"])
    vars(args).update(cfg)
    vars(args).update(duration=200.0, eeg="none", bold_tr=0.0, monitor=["tavg:10"],
                      output=str(tmp_path / "rerun.nc"), quiet=True)
    assert _simulate(args) == 0
    assert "dt=0.5 ms" in capsys.readouterr().out
    from vbrain.cli import main

    assert main(["simulate", "--config", str(out / "model.json"), "--duration", "200",
                 "--eeg", "none", "--bold-tr", "0", "-o", str(tmp_path / "rerun2.nc"), "-q"]) == 0
    assert "dt=0.5 ms" in capsys.readouterr().out
    rerun = vb.Result.load(tmp_path / "rerun2.nc")
    assert json.loads(rerun.attrs["coupling_params"])["a"] == a_fit
    # ... and as a Simulation that reproduces the fitted goodness of fit exactly
    sim = load_simulation(out / "model.json", monitors=[vb.monitors.TemporalAverage(10.0)])
    assert sim.coupling.a == a_fit and sim.dt == 0.5
    r = FCCorrelation(subject["fc"], monitor="tavg", variable="V", transient=500.0)(
        sim.run(10_000.0, progress=False))
    assert r[0] == pytest.approx(params["goodness_of_fit"]["fc_corr"], rel=1e-12)

    # rerunning resumes the grid from disk; existing outputs need --overwrite
    rc = fit_main([str(subject["dir"] / "fc.npy"), "--connectome", str(subject["conn_path"]),
                   *COMMON, "--param", "coupling.a=0.05:0.45:9", "--duration", "10000",
                   "--transient", "500", "--signal", "tavg:10", "--variable", "V",
                   "--out", str(out)])
    assert rc == 2 and "--overwrite" in capsys.readouterr().err


def test_fit_bold_fc_fcd_grid_then_de(subject, tmp_path, capsys):
    """Targets from a pipelines-style dataset (FC + FCD, TR); grid, then DE; FCD in the report."""
    out = tmp_path / "fit"
    rc = fit_main([str(subject["dir"] / "targets.nc"), "--connectome",
                   str(subject["conn_path"]), *COMMON, "--param", "coupling.a=0.05:0.45:5",
                   "--param", "noise=5e-4:2e-3:2", "--method", "grid+de", "--popsize", "2",
                   "--maxiter", "1", "--duration", "30000", "--transient", "5000",
                   "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    for name in ("fcd.png", "history.nc", "landscape.nc", "report.md"):
        assert (out / name).is_file(), name
    params = json.loads((out / "fitted_params.json").read_text())
    assert set(params["fitted"]) == {"coupling__a", "noise__nsig"}
    assert {"fc_corr", "fcd_ks", "loss"} <= set(params["goodness_of_fit"])
    cfg = json.loads((out / "model.json").read_text())
    assert cfg["bold_tr"] == 500.0  # the targets' TR
    assert cfg["noise"] == pytest.approx(params["fitted"]["noise__nsig"])
    assert "FCD value distributions" in (out / "report.md").read_text()


def test_load_targets_forms(subject, tmp_path):
    d = subject["dir"]
    t = load_targets(str(d / "fc.csv"))
    assert t["fc"].dims == ("region_i", "region_j")
    np.testing.assert_allclose(t["fc"].values, subject["fc"], rtol=1e-15)
    t = load_targets([str(d / "targets.nc")])
    assert set(t) >= {"fc", "fcd", "tr_ms"} and t["tr_ms"] == 500.0
    t = load_targets(["fc=" + str(d / "fc.npy"), "fcd=" + str(d / "targets.nc")])
    assert t["fcd"].dims == ("window_i", "window_j")
    with pytest.raises(ValueError, match="Unknown target kind 'fcx'.*Did you mean 'fc'"):
        load_targets("fcx=" + str(d / "fc.npy"))
    with pytest.raises(ValueError, match="Two 'fc' targets"):
        load_targets([str(d / "fc.npy"), str(d / "fc.csv")])
    with pytest.raises(FileNotFoundError, match="No target file"):
        load_targets(str(tmp_path / "nope.npy"))


def test_fit_cli_errors(subject, tmp_path, capsys):
    base = [str(subject["dir"] / "fc.npy"), "--connectome", str(subject["conn_path"]), *COMMON,
            "--out", str(tmp_path / "o")]
    assert fit_main([*base, "--param", "coupling.a=0.1"]) == 2
    assert "NAME=LO:HI" in capsys.readouterr().err
    assert fit_main([*base, "--param", "a=0:1:3"]) == 2  # G2D has `a` too
    assert "model.a or coupling.a" in capsys.readouterr().err
    assert fit_main([*base, "--param", "model.nope=0:1:3"]) == 2
    assert "Cannot search 'model__nope'" in capsys.readouterr().err
    assert fit_main([*base, "--param", "coupling.a=0:1:3", "--transient", "90000"]) == 2
    assert "shorter than duration" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="No model file"):
        load_model_config(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a vbrain model file"):
        load_model_config(tmp_path / "bad.json")


def test_fit_eeg_spectra_target_end_to_end(subject, tmp_path, capsys):
    """EEG recorded from a 'subject' -> the EEG pipeline's targets -> `vbrain fit` on spectra."""
    from vbrain.pipelines.eeg import eeg_targets
    from vbrain.pipelines.provenance import save_dataset

    from vbrain.forward import LeadField
    from vbrain.forward.sensors import to_raw

    conn = subject["conn"]
    lf = LeadField.sphere(conn, montage="standard_1020")
    truth = vb.Simulation(conn, vb.models.Generic2dOscillator(a=0.0), vb.coupling.Linear(a=0.25),
                          dt=0.5, seed=1, noise=vb.noise.Additive(1e-3),
                          monitors=[vb.monitors.EEG(lf, period=4.0)])
    eeg = truth.run(20_000.0, progress=False).eeg.sel(time=slice(2000.1, None))
    ds = eeg_targets(to_raw(eeg, lf), auto_bads=False, aec_bands=[])
    assert {"psd", "sensor_position"} <= set(ds.data_vars)
    path, _ = save_dataset(ds, tmp_path / "sub-01_desc-targets_eeg.nc")

    out = tmp_path / "fit"
    rc = fit_main([str(path), "--connectome", str(subject["conn_path"]), *COMMON,
                   "--param", "coupling.a=0:0.5:3", "--duration", "20000",
                   "--transient", "2000", "--signal", "tavg:10", "--variable", "V",
                   "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    params = json.loads((out / "fitted_params.json").read_text())
    assert set(params["goodness_of_fit"]) == {"spectral", "loss"}
    # the same model, seed and length as the subject: the coupling that made the
    # recording fits its spectra best (not exactly: the targets went through the EEG
    # pipeline's filter and average reference, the candidates' spectra do not)
    assert params["fitted"]["coupling__a"] == 0.25
    landscape = xr.open_dataarray(out / "landscape.nc", engine="h5netcdf").values
    assert landscape[1] == pytest.approx(params["goodness_of_fit"]["loss"])
    assert min(landscape[0], landscape[2]) > 2 * landscape[1]
    assert (out / "spectra.png").is_file() and "spectra.png" in (out / "report.html").read_text()
