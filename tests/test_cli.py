"""The vbrain command line."""

import numpy as np
import pytest

import vbrain as vb
from vbrain.cli import main


def test_simulate_writes_a_result_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "sim.nc"
    rc = main(["simulate", "--model", "ReducedWongWang", "--duration", "50", "--noise", "1e-6",
               "--coupling-param", "a=0.1", "--param", "w=0.5", "--monitor", "tavg:2.0",
               "--monitor", "subsample:5", "--monitor", "global:5", "-o", str(out), "-q"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "ReducedWongWang" in text and "76 regions" in text and "ns per region-step" in text
    res = vb.Result.load(out)
    assert res.tavg.sizes == {"time": 25, "variable": 1, "region": 76}
    assert res.subsample.sizes["time"] == 10
    np.testing.assert_allclose(res["global"].values, res.subsample.values.mean(axis=2))
    assert res.attrs["model"] == "ReducedWongWang"
    assert '"w": 0.5' in res.attrs["model_params"]
    assert np.all((res.tavg.values >= 0) & (res.tavg.values <= 1))


def test_simulate_per_region_parameter_list(tmp_path):
    values = ",".join(["0.1"] * 75 + ["0.9"])
    assert main(["simulate", "--param", f"I={values}", "--duration", "5",
                 "-o", str(tmp_path / "a.nc"), "-q"]) == 0


@pytest.mark.parametrize("argv, message", [
    (["--model", "RedWongWang"], "Did you mean 'ReducedWongWang'"),
    (["--param", "x=1"], "has no parameter 'x'"),
    (["--coupling", "Linea"], "Did you mean 'Linear'"),
    (["--dt", "0"], "dt must be > 0"),
    (["--connectome", "missing.zip"], "missing.zip"),
    (["--monitor", "tavg:0.25"], "multiple of dt"),
])
def test_simulate_bad_arguments_fail_clearly(tmp_path, capsys, argv, message):
    rc = main(["simulate", "--duration", "5", "-o", str(tmp_path / "x.nc"), "-q", *argv])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.nc").exists()


def test_simulate_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "x.nc"
    assert main(["simulate", "--duration", "5", "-o", str(out), "-q"]) == 0
    assert main(["simulate", "--duration", "5", "-o", str(out), "-q"]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert main(["simulate", "--duration", "5", "-o", str(out), "-q", "--overwrite"]) == 0


def test_models_lists_every_model_with_units(capsys):
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    for name in vb.models.REGISTRY:
        assert f"{name}:" in text
    assert "tau_s" in text and "[ms]" in text
    assert "coupled through: r, V; stimuli drive: V" in text  # Montbrio: TVB's stvar
    assert "coupled through: y1, y2\n" in text  # Jansen-Rit: stimuli drive both


def test_main_job_writes_bold_nifti_and_eeg_fif(tmp_path, capsys):
    import mne
    import nibabel as nib
    from nilearn.maskers import NiftiLabelsMasker

    out = tmp_path / "sim.nc"
    assert main(["simulate", "--duration", "6000", "--bold-tr", "2000", "--eeg", "biosemi64",
                 "-o", str(out), "-q"]) == 0
    assert "sim_bold.nii.gz" in capsys.readouterr().out
    res = vb.Result.load(out)
    img = nib.load(tmp_path / "sim_bold.nii.gz")
    assert img.shape[3] == 3 and img.header.get_zooms()[3] == pytest.approx(2.0)
    atlas = vb.atlas.Atlas.load("atlases:default")
    series = NiftiLabelsMasker(atlas.image, standardize=None).fit_transform(img)
    np.testing.assert_allclose(series, res.bold.sel(variable="bold").values, rtol=1e-5, atol=1e-7)
    raw = mne.io.read_raw_fif(tmp_path / "sim_eeg.fif", verbose=False)
    assert len(raw.ch_names) == 64 and raw.info["sfreq"] == pytest.approx(1000.0)
    assert raw.get_montage() is not None
    np.testing.assert_allclose(raw.get_data(), res.eeg.values.T, rtol=1e-6, atol=1e-12)
