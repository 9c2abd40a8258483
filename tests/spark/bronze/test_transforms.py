"""The pure bronze transforms on three-row frames."""

from __future__ import annotations

import json

from lakehouse.bronze import transforms as T
from lakehouse.config import source_spec


def spec(fmt="csv", **extra):
    node = {"entity": "person", "key": "id", "updated_at": "ts", "op": "op",
            "format": {"type": fmt, **extra}, "columns": {"record_key": "id", "full_name": "p.name"}}
    return source_spec("demo", node)


def files(spark, text: str, path="/x/landing/demo/batch-00003/demo_batch-00003_p00000.csv", enc="utf-8"):
    return spark.createDataFrame([(path, bytearray(text.encode(enc)))], "path string, content binary")


def test_decoded_lines_positions_bom_and_truncation(spark):
    s = spec(options={"sep": ";"})
    df = T.decoded_lines(files(spark, "\ufeffid;p.name\r\n1;An\r\n\n2;Bì"), s)
    rows = [tuple(r) for r in df.orderBy("_source_position").collect()]
    assert rows == [("demo/batch-00003/demo_batch-00003_p00000.csv", 3, 1, "id;p.name", False),
                    ("demo/batch-00003/demo_batch-00003_p00000.csv", 3, 2, "1;An", False),
                    ("demo/batch-00003/demo_batch-00003_p00000.csv", 3, 4, "2;Bì", True)]


def test_parse_csv_fields_rescue_and_reasons(spark):
    s = spec(options={"sep": ";", "quote": '"', "escape": '"'})
    text = 'id;p.name;op\n1;"A;B";I\n2;C\n3;D;U;extra\n'
    out = T.parse_csv(T.decoded_lines(files(spark, text), s), s, ["id", "p.name", "op"], spare_fields=4)
    rows = {r["_source_position"]: r for r in out.collect()}
    assert rows[2]["p__name"] == "A;B" and rows[2]["_reason"] is None and rows[2]["ts"] is None
    assert rows[3]["_reason"] == "too_few_fields"
    assert rows[4]["op"] == "U" and json.loads(rows[4]["_rescued_data"]) == {"_extra_fields": ["extra"]}
    assert len(rows[2]["_record_hash"]) == 64


def test_parse_json_nested_and_rescued(spark):
    s = spec("json")
    text = ('{"id":"1","p":{"name":"An"},"op":"I","ts":"t"}\n'
            '{"id":"2","p":{"name":"Bo","email":"b@x"},"op":"U","ts":"t","new":1}\n'
            '{"id":"3","p":{"na\n')
    out = T.parse_json(T.decoded_lines(files(spark, text), s), s, ["id", "p.name", "op", "ts"])
    rows = {r["_source_position"]: r for r in out.collect()}
    assert rows[1]["p__name"] == "An" and rows[1]["_rescued_data"] is None
    assert json.loads(rows[2]["_rescued_data"]) == {"new": "1", "p.email": "b@x"}
    assert rows[3]["_reason"] == "malformed_json"


def test_xml_records_and_parse(spark):
    s = spec("xml", row_tag="R", root_tag="RS")
    s = source_spec("demo", {**s.raw, "columns": {"record_key": "id", "full_name": "name"}})
    text = ("<?xml version='1.0'?>\n<RS>\n <R>\n  <id>1</id>\n  <name>A &amp; B</name>\n </R>\n"
            " <R>\n  <id>2</id>\n  <zz>new</zz>\n </R>\n <R>\n  <id>3</id>\n  <na")
    out = T.parse_xml(T.xml_records(files(spark, text), s), s, ["id", "name"])
    rows = {r["_source_position"]: r for r in out.collect()}
    assert rows[1]["name"] == "A & B" and rows[1]["_reason"] is None
    assert json.loads(rows[2]["_rescued_data"]) == {"zz": "new"}
    assert rows[3]["_reason"] == "truncated_record"


def test_bronze_and_quarantine_split(spark):
    s = spec(options={"sep": ";"})
    parsed = T.parse_csv(T.decoded_lines(files(spark, "id;p.name\n1;a\n2\n3;c\n"), s), s, ["id", "p.name"])
    import datetime as dt

    now = dt.datetime(2026, 1, 1)
    b = T.bronze_rows(parsed, "run1", now)
    q = T.quarantined_records(parsed, "demo", "run1", now)
    assert b.count() == 2 and q.count() == 1
    assert b.columns[-8:] == list(T.AUDIT_COLUMNS)
    assert q.first()["raw_record"] == "2" and q.columns == list(T.QUARANTINE_COLUMNS)
