"""The whole pipeline in one process and one Spark session (one JVM start instead of seven):

    python -m jobs.run                                  # generate -> bronze -> silver -> gold -> evaluate -> train -> score
    python -m jobs.run 'run.stages=[bronze,silver]'     # some stages, in the order given

Each stage runs through the same wrapper as its own job (``make bronze`` etc.): its own run id,
audit record, run-log lines and summary. The first stage that fails stops the run with its exit code.
"""

from __future__ import annotations

import importlib
import sys
import time

import hydra
from omegaconf import DictConfig

from jobs._common import run_job

STAGES = ("generate", "bronze", "silver", "gold", "evaluate", "train", "score", "maintain", "report")


def stages_of(cfg: DictConfig) -> list[str]:
    stages = [str(s) for s in cfg.run.stages]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        print(f"run: run.stages has unknown stages {unknown}; known: {list(STAGES)}", file=sys.stderr)
        sys.exit(2)
    return stages


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    t0 = time.perf_counter()
    stages = stages_of(cfg)
    for name in stages:
        run_job(cfg, name, importlib.import_module(f"jobs.{name}").body)
    print(f"run: {len(stages)} stages ({', '.join(stages)}) in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
