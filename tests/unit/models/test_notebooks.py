"""The notebooks are jupytext scripts, and notebooks 1 and 2 execute headless on synthetic gold
(no JVM). All three run on real pipeline data in tests/e2e/test_pipeline.py."""

from __future__ import annotations

from pathlib import Path

import nbformat

from lakehouse.models import notebooks


def _outputs(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_every_notebook_is_a_jupytext_percent_script():
    sources = notebooks.notebooks()
    assert [p.stem[:2] for p in sources] == ["01", "02", "03"]
    for path in sources:
        text = path.read_text()
        assert "format_name: percent" in text and "compose(overrides_from_env())" in text


def test_notebooks_1_and_2_run_on_synthetic_gold(gold_root, tmp_path, monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_OVERRIDES", raising=False)
    out = tmp_path / "executed"
    rc = notebooks.main(["--root", str(gold_root), "--out", str(out), "01", "02"])
    assert rc == 0
    assert "dim_citizen version 1" in _outputs(out / "01_explore_gold.ipynb")
    two = _outputs(out / "02_train_and_compare.ipynb")
    assert "coverage_gap" in two and "enterprise_risk" in two and "champion" in two
    nb = nbformat.read(out / "01_explore_gold.ipynb", as_version=4)
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
