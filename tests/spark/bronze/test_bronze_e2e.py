"""End-to-end bronze runs on tiny landing data written by the tests themselves (real Spark + Delta)."""

from __future__ import annotations

import json
import shutil
import unicodedata

import pytest

from lakehouse import io
from lakehouse.bronze import BronzeError, run_bronze
from lakehouse.config import selected_sources
from tests.support import landing as L

LENIENT = "bronze.max_error_rate=0.9"


def spec_of(cfg, name):
    return next(s for s in selected_sources(cfg) if s.name == name)


def table(spark, cfg, name, layer="bronze"):
    return io.read_delta(spark, f"{cfg.paths[layer]}/{name}")


def quiet(*_):
    pass


def test_all_file_formats_with_corrupt_input(spark, make_cfg):
    cfg = make_cfg("only=[id_card,health_insurance,civil_status,immigration]", LENIENT)
    land = cfg.paths.landing
    idc, hi, cs, im = (spec_of(cfg, n) for n in ("id_card", "health_insurance", "civil_status", "immigration"))
    # CSV with BOM: 4 good rows, one short line, one with an extra field, one undecodable byte.
    rows = [L.record(idc, i) for i in range(4)]
    text = L.csv_text(idc, rows)
    good = text.rstrip("\n").split("\n")
    bad_short = ";".join(good[1].split(";")[:-1])
    bad_extra = good[2] + ";???"
    path = L.file_path(land, idc, 0)
    with open(path, "wb") as fh:
        fh.write(("\n".join(good + [bad_short, bad_extra]) + "\n").encode())
        fh.write(b"K9;\xff\xfe;x\n")
    shutil.copyfile(path, path.replace(".csv", "_resent.csv"))          # delivered twice
    open(L.file_path(land, idc, 0, suffix="_empty"), "wb").close()       # empty file
    # JSON: 3 good, one cut in half, and a truncated second file.
    jrows = [L.record(hi, i) for i in range(3)]
    jtext = L.json_text(jrows)
    L.write_text(L.file_path(land, hi, 0), jtext + jtext.split("\n")[0][:30] + "\n")
    L.write_text(L.file_path(land, hi, 0, part=1), jtext[: len(jtext) - 15])
    # XML: 3 records, the file cut inside the third.
    xtext = L.xml_text(cs, [L.record(cs, i) for i in range(3)])
    L.write_text(L.file_path(land, cs, 0), xtext[: xtext.rindex(f"<{cs.row_tag}>") + 40])
    # Parquet: one good file, one truncated.
    p = L.write_parquet(L.file_path(land, im, 0), [L.record(im, i) for i in range(5)])
    data = open(p, "rb").read()
    L.write_text(L.file_path(land, im, 0, part=1), "")
    with open(L.file_path(land, im, 0, part=1), "wb") as fh:
        fh.write(data[: len(data) // 2])

    res = run_bronze(spark, cfg, log=quiet)
    by = {s.source: s for s in res.sources}
    assert all(s.difference == 0 for s in res.sources), res.errors

    # CSV
    assert (by["id_card"].rows, by["id_card"].quarantined, by["id_card"].duplicates) == (5, 2, 1)
    b = table(spark, cfg, "id_card")
    assert {"so_phieu", "ho_ten", "thao_tac", "ngay_cap_nhat", "_rescued_data", "_source_file", "_source_position",
            "_source_batch", "_record_hash", "_run_id", "_ingested_at"} <= set(b.columns)
    extra = b.where("_rescued_data IS NOT NULL").collect()
    assert len(extra) == 1 and json.loads(extra[0]["_rescued_data"]) == {"_extra_fields": ["???"]}
    assert extra[0]["_source_position"] == 7
    assert b.where("_source_position = 2").first()["so_phieu"] == "K000000"
    q = {(r["_source_file"].split("/")[-1], r["reason"]) for r in
         table(spark, cfg, "_quarantine").where("source = 'id_card'").collect()}
    assert q == {("id_card_batch-00000_p00000.csv", "too_few_fields"),
                 ("id_card_batch-00000_p00000.csv", "undecodable_bytes"),
                 ("id_card_batch-00000_p00000_resent.csv", "duplicate_file"),
                 ("id_card_batch-00000_p00000_empty.csv", "empty_file")}
    # JSON: nested -> a__b, malformed and truncated lines quarantined
    h = table(spark, cfg, "health_insurance")
    assert "chu_the__ho_ten" in h.columns and h.where("ma_the = 'K000001'").first()["chu_the__ho_ten"] == "chu_the.ho_ten-1"
    assert (by["health_insurance"].rows, by["health_insurance"].quarantined) == (5, 2)
    # XML: third record cut off
    assert (by["civil_status"].rows, by["civil_status"].quarantined) == (2, 1)
    assert table(spark, cfg, "civil_status").where("_source_position = 2").first()["so_dang_ky"] == "K000001"
    # Parquet: a truncated file has no footer -> quarantined as unreadable
    assert (by["immigration"].rows, by["immigration"].file_faults) == (5, {"unreadable": 1})
    reasons = {r["reason"] for r in table(spark, cfg, "_quarantine").collect()}
    assert {"malformed_json", "truncated_record", "truncated_file", "unreadable_file"} <= reasons
    # Reconciliation is stored in ops
    rec = table(spark, cfg, "bronze_reconciliation", "ops").where(f"run_id = '{res.run_id}'").collect()
    assert len(rec) == 4 and all(r["reconciled"] for r in rec)

    # A second run ingests nothing, and a new batch with drift is picked up incrementally
    again = run_bronze(spark, cfg, log=quiet)
    assert sum(s.files for s in again.sources) == 0 and again.rows == 0
    assert table(spark, cfg, "id_card").count() == 5


def test_schema_drift_adds_columns(spark, make_cfg):
    cfg = make_cfg("only=[enterprise_tax,health_insurance]", LENIENT)
    land = cfg.paths.landing
    et, hi = spec_of(cfg, "enterprise_tax"), spec_of(cfg, "health_insurance")
    rows0 = [L.record(et, i) for i in range(3)]
    L.write_text(L.file_path(land, et, 0), L.csv_text(et, rows0))
    L.write_text(L.file_path(land, hi, 0), L.json_text([L.record(hi, i) for i in range(3)]))
    first = run_bronze(spark, cfg, log=quiet)
    assert first.rows == 6
    # batch 1: a column inserted mid-row; a nested field appears; one record has an unheard-of key
    cols = L.columns_of(et)
    header1 = cols[:3] + ["so_ngay_nop_cham"] + cols[3:]
    rows1 = [L.record(et, i, {"so_ngay_nop_cham": str(i)}) for i in range(10, 12)]
    L.write_text(L.file_path(land, et, 1), L.csv_text(et, rows1, header1))
    jr = [L.record(hi, i, {"chu_the.email": f"e{i}@x.vn"}) for i in range(10, 12)]
    jr[1]["surprise"] = "!"
    L.write_text(L.file_path(land, hi, 1), L.json_text(jr))
    second = run_bronze(spark, cfg, log=quiet)
    assert second.rows == 4 and not second.errors
    e = table(spark, cfg, "enterprise_tax")
    assert "so_ngay_nop_cham" in e.columns and e.count() == 5
    assert e.where("_source_batch = 1 AND so_ngay_nop_cham = '10'").first()["ma_to_khai"] == "K000010"
    assert e.where("_source_batch = 0").where("so_ngay_nop_cham IS NULL").count() == 3
    h = table(spark, cfg, "health_insurance")
    assert h.where("chu_the__email = 'e10@x.vn'").count() == 1
    assert json.loads(h.where("ma_the = 'K000011'").first()["_rescued_data"]) == {"surprise": "!"}


def test_windows1258_names_round_trip(spark, make_cfg):
    from lakehouse.reference.text import to_windows1258_form

    cfg = make_cfg("only=[driving_licences]", LENIENT)
    dl = spec_of(cfg, "driving_licences")
    names = ["Nguyễn Thị Thủy", "Trần Văn Đức", "Lê Hoàng Yến", "Phạm Ngọc Ẩn", "Đặng Thị Hường"]
    rows = [L.record(dl, i, {"HO_TEN": to_windows1258_form(n)}) for i, n in enumerate(names)]
    path = L.file_path(cfg.paths.landing, dl, 0)
    L.write_text(path, L.csv_text(dl, rows), "cp1258")
    run_bronze(spark, cfg, log=quiet)
    got = {r["so_gplx"]: r["ho_ten"] for r in table(spark, cfg, "driving_licences").collect()}
    assert [unicodedata.normalize("NFC", got[f"K{i:06d}"]) for i in range(len(names))] == \
        [unicodedata.normalize("NFC", n) for n in names]


def test_a_17th_source_is_only_yaml_and_landing_data(spark, tmp_path):
    from lakehouse.config import CONF_DIR, compose

    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    (conf / "sources" / "water_utility.yaml").write_text(
        "water_utility:\n  title: Water utility customers\n  entity: person\n  key: MA_KH\n"
        "  updated_at: NGAY_CN\n  op: TT\n  format:\n    type: csv\n"
        "    options: {sep: \"|\", header: \"true\", quote: \"\\\"\", escape: \"\\\"\", encoding: \"UTF-8\"}\n"
        "  columns:\n    record_key: MA_KH\n    full_name: TEN KHACH HANG\n    address: Dia.Chi\n")
    text = (conf / "config.yaml").read_text()
    (conf / "config.yaml").write_text(text.replace("  - sources:\n", "  - sources:\n      - water_utility\n", 1))
    cfg = compose(["spark=tiny", f"paths.root={tmp_path / 'data'}", "only=[water_utility]"], config_dir=conf)
    d = tmp_path / "data" / "landing" / "water_utility" / "batch-00000"
    d.mkdir(parents=True)
    (d / "water_utility_batch-00000_p00000.csv").write_text(
        "MA_KH|TEN KHACH HANG|Dia.Chi|TT|NGAY_CN\nW1|Võ Văn A|1 Lê Lợi|I|2026-01-02 10:00:00\n"
        "W2|Hồ Thị B|\"2|3 Trần Phú\"|I|2026-01-02 10:00:00\n", encoding="utf-8")
    res = run_bronze(spark, cfg, log=quiet)
    assert res.rows == 2 and not res.errors
    b = table(spark, cfg, "water_utility")
    assert {"ma_kh", "ten_khach_hang", "dia__chi", "tt", "ngay_cn"} <= set(b.columns)
    assert b.where("ma_kh = 'W2'").first()["dia__chi"] == "2|3 Trần Phú"


def test_error_rate_threshold_fails_with_clear_message(spark, make_cfg):
    cfg = make_cfg("only=[id_card]")      # default threshold 5%
    idc = spec_of(cfg, "id_card")
    text = L.csv_text(idc, [L.record(idc, i) for i in range(5)])
    L.write_text(L.file_path(cfg.paths.landing, idc, 0), text + "broken;line\n")
    with pytest.raises(BronzeError, match=r"id_card: 1 of 6 records quarantined .* bronze.max_error_rate=5.00%"):
        run_bronze(spark, cfg, log=quiet)
    # the data and the quarantine are committed and logged all the same
    assert table(spark, cfg, "id_card").count() == 5 and table(spark, cfg, "_quarantine").count() == 1


def test_reconciliation_mismatch_fails_the_job(spark, make_cfg, monkeypatch):
    cfg = make_cfg("only=[id_card]", LENIENT)
    idc = spec_of(cfg, "id_card")
    L.write_text(L.file_path(cfg.paths.landing, idc, 0), L.csv_text(idc, [L.record(idc, i) for i in range(3)]))
    real = io.scan_landing_file

    def miscount(*a, **k):           # a record that neither bronze nor quarantine can account for
        f = real(*a, **k)
        f.records += 1
        return f
    monkeypatch.setattr(io, "scan_landing_file", miscount)
    with pytest.raises(BronzeError, match=r"id_card: reconciliation failed: 4 landing records != 3 bronze"):
        run_bronze(spark, cfg, log=quiet)
    rec = table(spark, cfg, "bronze_reconciliation", "ops").collect()
    assert [(r["source"], r["difference"], r["reconciled"]) for r in rec] == [("id_card", 1, False)]


def _db_frame(spark, spec, rows):
    cols = L.columns_of(spec)
    data = [tuple(r[c] for c in cols) for r in rows]
    return spark.createDataFrame(data, ", ".join(f"`{c}` string" for c in cols)) \
        .withColumn(spec.key, __import__("pyspark.sql.functions", fromlist=["col"]).col(spec.key).cast("bigint"))


def _db_rows(spec, ids, op="I", second=0):
    return [L.record(spec, i, {spec.key: str(i), spec.op: op,
                               spec.updated_at: f"2026-01-0{1 + second} 08:00:{i:02d}"}) for i in ids]


def _database_round(spark, cfg):
    si = spec_of(cfg, "social_insurance")
    db = io.Database.from_config(cfg.database)
    io.write_database_batch(_db_frame(spark, si, _db_rows(si, range(1, 9))), si, db, 0)
    first = run_bronze(spark, cfg, log=quiet)
    assert first.rows == 8 and not first.errors
    assert run_bronze(spark, cfg, log=quiet).rows == 0                 # nothing new: nothing read
    changes = _db_rows(si, [3], "U", 1) + _db_rows(si, [9, 10], "I", 1) + _db_rows(si, [5], "D", 1)
    io.write_database_batch(_db_frame(spark, si, changes), si, db, 1)
    third = run_bronze(spark, cfg, log=quiet)
    assert third.rows == 4 and not third.errors
    b = table(spark, cfg, "social_insurance")
    assert b.count() == 12 and b.where("id = '5' AND change_type = 'D'").count() == 1
    assert b.select("_source_file").distinct().first()[0] == f"jdbc:{db.kind}:bhxh_participation"
    marks = [r["watermark_to"] for r in table(spark, cfg, "bronze_ingest_log", "ops").orderBy("logged_at").collect()]
    assert len(marks) == 2 and marks[0] != marks[1]
    return db, si


def test_sqlite_incremental_watermark(spark, make_cfg):
    _database_round(spark, make_cfg("only=[social_insurance]"))


@pytest.mark.postgres
def test_postgres_incremental_watermark(spark, make_cfg):
    cfg = make_cfg("only=[social_insurance]", "database.kind=postgres")
    db, si = _database_round(spark, cfg)
    with db.connect() as conn:
        conn.cursor().execute(f'DROP TABLE IF EXISTS "{si.table}"')
        conn.commit()
