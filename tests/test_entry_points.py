"""The installed entry points, run as a user runs them: separate processes and a shell pipeline."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


def test_python_dash_m_glorotcli_prints_the_version():
    done = _run([sys.executable, "-m", "glorotcli", "--version"])
    assert done.returncode == 0 and done.stdout.startswith("glorot ")


def test_bad_usage_is_one_line_on_stderr_with_exit_2_and_no_traceback():
    done = _run([sys.executable, "-m", "glorotcli", "train", "--depth", "0", "--online",
                 "-o", "never.h5"])
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "--depth" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_commands_compose_in_a_shell_pipeline_through_the_paths_they_print(tmp_path):
    glorot = f'"{sys.executable}" -m glorotcli'
    script = (
        f'set -euo pipefail; cd "{tmp_path}"; '
        f'data=$({glorot} gen-data shapeset -o d.h5 --train 300 --valid 50 --test 350 '
        f'--seed 3 --threads 1); '
        f'run=$({glorot} train --data "$data" --depth 2 --width 16 --steps 60 --threads 1 '
        f'--probe-every 30 --jacobian-every none -o r.h5); '
        f'{glorot} report "$run" --json > report.json; '
        f'{glorot} report "$run" --png figs; echo "run=$run"'
    )
    done = _run(["bash", "-c", script])
    assert done.returncode == 0, done.stderr
    assert "run=r.h5" in done.stdout
    assert (tmp_path / "report.json").stat().st_size > 100
    assert any(p.suffix == ".png" for p in (tmp_path / "figs").iterdir())


def test_missing_shared_data_fails_in_ci_and_skips_elsewhere(tmp_path, monkeypatch):
    import pytest
    from conftest import require_shared

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_shared(tmp_path / "absent", "golden images")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_shared(tmp_path / "absent", "golden images")
    require_shared(tmp_path, "a folder that exists")  # no exception
