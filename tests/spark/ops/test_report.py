"""The ops report: a self-contained offline HTML file from small synthetic ops tables."""

from __future__ import annotations

import pandas as pd

from lakehouse.ops.report import run_report
from tests.support.report_data import assert_offline, frames, svgs


def _save(spark, pdf, ddl, path):
    cols = [c.split()[0] for c in ddl.split(", ")]
    native = [tuple(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in (r.get(c) for c in cols))
              for r in pdf.to_dict("records")]
    spark.createDataFrame(native, ddl).write.format("delta").save(path)


def test_run_report_reads_delta_tables_and_writes_one_file(spark, make_cfg):
    from lakehouse.bronze.runner import RECON_SCHEMA
    from lakehouse.gold.schema import DQ_SCORECARD

    cfg = make_cfg()
    f = frames()
    _save(spark, f["bronze_reconciliation"], RECON_SCHEMA, f"{cfg.paths.ops}/bronze_reconciliation")
    _save(spark, f["dq_scorecard"], DQ_SCORECARD, f"{cfg.paths.gold}/dq_scorecard")
    lines = []
    path = run_report(spark, cfg, log=lines.append)
    assert path == f"{cfg.paths.ops}/report/index.html"
    text = open(path, encoding="utf-8").read()
    assert '<section id="bronze" class="ok">' in text and '<section id="scorecard" class="ok">' in text
    assert '<section id="rules" class="missing">' in text and len(svgs(text)) >= 4
    assert_offline(text)
    assert lines[0].startswith("report: 2/6 tables")
