"""The command line: help texts with units, -q/-v, and exit codes scripts can rely on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vbrain.cli import EXIT_CODES, build_parser, main

EXAMPLE = Path(__file__).parents[1] / "examples" / "experiment.toml"


def help_text(*argv: str, capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_commands_units_and_exit_codes(capsys):
    text = help_text(capsys=capsys)
    for command in ("run", "simulate", "pipeline", "fit", "models"):
        assert command in text
    assert "time in ms" in text and "mm/ms" in text and "Hz" in text
    for code in (0, 1, 2, 3, 130):
        assert f"  {code:<4} " in text
    assert set(EXIT_CODES) == {0, 1, 2, 3, 130}


@pytest.mark.parametrize("command, needles", [
    ("run", ["experiment.toml", "run.json", "report.html", "--set", "--check", "--schema",
             "time in ms"]),
    ("simulate", ["simulated time, ms", "integration step, ms", "mm/ms", "_bold.nii.gz",
                  "_eeg.fif", "(unit of the variable)^2/ms"]),
    ("pipeline", ["connectome.zip", "desc-targets_bold.nc", "TR in ms"]),
    ("fit", ["model.json", "fitted_params.json", "simulated ms per candidate", "Hz"]),
    ("models", ["default", "unit"]),
])
def test_each_command_help_states_inputs_outputs_and_units(capsys, command, needles):
    text = help_text(command, capsys=capsys)
    for needle in needles:
        assert needle in text, (command, needle)
    assert "-q, --quiet" in text and "-v, --verbose" in text


def test_every_option_has_a_help_text():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.dest != "help":
                assert action.help, f"vbrain {name} {action.option_strings or action.dest}"


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "e.toml"
    path.write_text(text)
    return path


def test_run_check_validates_without_running(tmp_path, capsys):
    assert main(["run", str(EXAMPLE), "--check", "-o", str(tmp_path / "out")]) == 0
    assert "valid" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
    bad = write(tmp_path, "[model]\nname = 'Generic2dOscillator'\n[model.parameters]\naa = 1.0\n"
                          "[integration]\ndt = -0.1\n")
    assert main(["run", str(bad), "--check"]) == 2
    err = capsys.readouterr().err
    assert "model.parameters.aa: Generic2dOscillator has no parameter 'aa'" in err
    assert "Allowed: ['tau', 'I', 'a'" in err and "integration.dt: must be > 0" in err


def test_run_schema_and_usage_errors(tmp_path, capsys):
    assert main(["run", "--schema"]) == 0
    assert "[[monitors]] kind = 'eeg'" in capsys.readouterr().out
    assert main(["run"]) == 2
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "No experiment file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # argparse's own usage errors are 2 as well
        main(["run", str(EXAMPLE), "--no-such-option"])
    assert info.value.code == 2


def test_run_writes_outputs_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", str(EXAMPLE), "-o", str(out), "--set", "integration.duration=200",
            "--set", 'outputs.files=["netcdf"]', "--set", "monitors=[{kind = 'tavg'}]", "-q"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "complete" in text and "re-run: vbrain run" in text
    assert (out / "simulation.nc").is_file() and (out / "run.json").is_file()
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0


def test_diverged_run_exits_3_and_keeps_the_record(tmp_path, capsys):
    # a growing linear model (gamma > 0) overflows to inf within a few hundred ms
    path = write(tmp_path, "[model]\nname = 'Linear'\n[model.parameters]\ngamma = 5.0\n"
                           "[integration]\nduration = 1000.0\nnoise = 0.0\n"
                           "[outputs]\nfolder = 'out'\nfiles = ['netcdf']\n")
    assert main(["run", str(path), "-q"]) == 3
    err = capsys.readouterr().err
    assert "diverged" in err and "run.json" in err
    import json

    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["status"].startswith("diverged at t=")


def _cli(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    # run from tests/: with the repository as working directory, `python -m` would import the
    # source tree instead of the installed package (which carries vbrain.atlases)
    kw.setdefault("cwd", Path(__file__).parent)
    return subprocess.Popen([sys.executable, "-m", "vbrain.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
                            **kw)


def test_unexpected_failure_exits_1(tmp_path):
    """No scheduler listens at the address: a runtime failure, not bad input."""
    proc = _cli("run", str(EXAMPLE), "-o", str(tmp_path / "out"), "--scheduler",
                "tcp://127.0.0.1:9", env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "vbrain: error:" in err and "run with -v for the traceback" in err
    assert "Traceback" not in err


def test_interrupted_simulation_exits_130_with_a_checkpoint(tmp_path):
    out = tmp_path / "long.nc"
    args = ["simulate", "--duration", "2000000", "--bold-tr", "0", "--eeg", "none",
            "--noise", "0", "--checkpoint-every", "500", "-o", str(out), "-q"]
    proc = _cli(*args)
    ckpt = Path(str(out) + ".ckpt.npz")
    deadline = time.time() + 90
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)  # the first checkpoint: the loop runs, with its signal handler
    assert ckpt.exists(), proc.communicate()[1]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert "--resume" in err
    assert ckpt.exists() and Path(str(out) + ".partial").exists()


def test_verbose_logs_steps_and_quiet_hides_them(tmp_path):
    base = ["run", str(EXAMPLE), "--set", "integration.duration=100", "--set",
            'outputs.files=["netcdf"]', "--set", "monitors=[{kind = 'tavg'}]"]
    loud = _cli(*base, "-o", str(tmp_path / "a"), "-v")
    _, err = loud.communicate(timeout=120)
    assert loud.returncode == 0, err
    assert "vbrain: run: simulation done in" in err
    quiet = _cli("-q", *base, "-o", str(tmp_path / "b"))  # -q also works before the command
    _, err = quiet.communicate(timeout=120)
    assert quiet.returncode == 0 and err.strip() == ""
