"""Run the notebooks headless (for CI and `make notebooks`), and the config helper they start from.

The notebooks are jupytext "py:percent" files (``notebooks/NN_name.py``): plain Python that diffs
and reviews like code, with no outputs in git. This runner converts each to a notebook in memory,
executes it with nbclient in a fresh kernel (working directory = the repository), and writes the
executed copy with its outputs to ``models.notebooks.output_dir`` (``<paths.ops>/notebooks``), which
is inside the data root and never committed (notebook 3 shows a steward personal data).

    python -m lakehouse.models.notebooks                      # every notebook, data root from config
    python -m lakehouse.models.notebooks --root /data/lake 01_explore_gold
    python -m lakehouse.models.notebooks -o seed=7 -o models.only=[coverage_gap]

Each notebook composes its config with ``compose(overrides_from_env())``: the runner passes the data
root and overrides through the environment (LAKEHOUSE_ROOT, LAKEHOUSE_OVERRIDES), so the notebooks
run unchanged by hand in Jupyter.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Iterable, Sequence

REPO_DIR = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO_DIR / "notebooks"
ROOT_ENV = "LAKEHOUSE_ROOT"
OVERRIDES_ENV = "LAKEHOUSE_OVERRIDES"


def overrides_from_env(extra: Iterable[str] = ()) -> list[str]:
    """Hydra overrides for a notebook: paths.root from LAKEHOUSE_ROOT, then LAKEHOUSE_OVERRIDES
    (space-separated, shell quoting), then `extra`."""
    out = []
    root = os.environ.get(ROOT_ENV)
    if root:
        out.append(f"paths.root={root}")
    out += shlex.split(os.environ.get(OVERRIDES_ENV, ""))
    return out + list(extra)


def notebooks(names: Sequence[str] = ()) -> list[Path]:
    """The notebook sources (NN_*.py), all or those whose stem starts with one of `names`."""
    found = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
    if not names:
        return found
    picked = [p for p in found if any(p.stem == n or p.stem.startswith(n) for n in names)]
    missing = [n for n in names if not any(p.stem == n or p.stem.startswith(n) for p in found)]
    if missing:
        raise SystemExit(f"no notebook {missing} in {NOTEBOOK_DIR}; there are {[p.stem for p in found]}")
    return picked


def run_notebook(source: Path, output_dir: Path, timeout_s: int = 900) -> Path:
    """Execute one jupytext notebook; the executed .ipynb is written even when a cell fails."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{source.stem}.ipynb"
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO_DIR)}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakehouse.models.notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (stem or number prefix); default all")
    parser.add_argument("--root", help=f"data root (sets {ROOT_ENV} for the notebooks)")
    parser.add_argument("-o", "--override", action="append", default=[], help="Hydra override (repeatable)")
    parser.add_argument("--out", help="where executed notebooks go (default models.notebooks.output_dir)")
    parser.add_argument("--timeout", type=int, help="seconds per cell (default models.notebooks.timeout_s)")
    args = parser.parse_args(argv)

    from nbclient.exceptions import CellExecutionError

    from lakehouse.config import compose

    if args.root:
        os.environ[ROOT_ENV] = str(Path(args.root).resolve()) if "://" not in args.root else args.root
    if args.override:
        quoted = [os.environ.get(OVERRIDES_ENV, ""), *map(shlex.quote, args.override)]
        os.environ[OVERRIDES_ENV] = " ".join(quoted).strip()
    cfg = compose(overrides_from_env())
    out = Path(args.out or str(cfg.models.notebooks.output_dir)).resolve()
    timeout = int(args.timeout or cfg.models.notebooks.timeout_s)
    failed = []
    for source in notebooks(args.names):
        t0 = time.perf_counter()
        try:
            target = run_notebook(source, out, timeout)
            print(f"notebooks: {source.name:<32} ok      {time.perf_counter() - t0:6.1f} s  -> {target}")
        except CellExecutionError as exc:
            failed.append(source.name)
            first = str(exc).strip().splitlines()
            target = out / f"{source.stem}.ipynb"
            print(f"notebooks: {source.name:<32} FAILED  {time.perf_counter() - t0:6.1f} s  -> {target}", file=sys.stderr)
            print("\n".join(first[-15:]), file=sys.stderr)
    if failed:
        print(f"notebooks: {len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
