"""docs/api.md: its ```python examples run, in order, in a fresh folder, and what they assert
holds (the API is documented by examples that cannot go stale)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

API_MD = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_api_docs_examples_run_in_a_fresh_folder(tmp_path):
    blocks = re.findall(r"^```python\n(.*?)^```", API_MD.read_text(), flags=re.M | re.S)
    assert len(blocks) >= 4, "docs/api.md lost its runnable examples"
    script = tmp_path / "api_examples.py"
    script.write_text("\n".join(blocks))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "standard finished 600" in out and "normalized finished 600" in out
    assert "fig06_activation_hist_init.png" in out
    assert "finished 800" in out
    assert "normalized: activation std layer 20 / layer 1 = " in out
    assert (tmp_path / "figs" / "fig06_activation_hist_init.png").stat().st_size > 10_000


def test_the_package_exports_the_documented_functions():
    import glorotcli

    documented = set(re.findall(r"^\| `(\w+)\(", API_MD.read_text(), flags=re.M))
    assert documented <= set(glorotcli.__all__), documented - set(glorotcli.__all__)
    assert all(callable(getattr(glorotcli, name)) for name in documented)
