"""A DuckDB implementation of silver's standardise -> validate -> dedupe for one person source,
used by the benchmark to compare engines on the same bronze rows (``make bench``).

It follows the Spark standardisers of :mod:`lakehouse.silver.standardise` and the rules in
``conf/config.yaml`` (``silver.rules``, evaluated from their own SQL after a few Spark -> DuckDB
rewrites), with the same reference tables (GSO province codes, tone clusters, mobile prefixes,
sex words, ethnicities):

* name: NFC, whitespace squeezed, trimmed, Title Case, new tone placement (hoà -> hòa at a syllable
  end, not after a vowel, uy not after q), ``name_folded`` (upper case, ``strip_accents``, Đ -> D),
  ``name_no_diacritics``;
* dates: the formats of ``standardise.parse_date`` (dd/MM/yyyy, d/M/yy with pivot, yyyy-MM-dd[ time],
  yyyyMMdd, MM/yyyy, yyyy, "ngày .. tháng .. năm ..") with precision (day / month / year) and flags
  (year_only, possible_year_only, day_month_swapped, impossible, unparsed);
* CCCD: separators and a spreadsheet ".0" removed, 11 digits -> leading zero restored, 9 digits ->
  the CMND, 12 digits, GSO province code, century/sex digit in 0..5, birth year and sex cross-checks;
* phone: +84 / 84 / 0084 -> 0, lost leading zero, 11-digit 01xx -> new 3-digit prefix, carrier,
  landlines (02x…, old 04 -> 024);
* sex (words and the source's numeric codes), ethnicity (code or name), life status, plain text and
  codes; the address is only joined into ``address_text`` (Spark also resolves it to the new
  administrative units: not done here, so ``dung.address_unresolved`` never fires);
* dedupe within the batch: exact copies (same key and raw hash) and key conflicts (the latest
  ``updated_at``, then file order wins), and ``_same_identity`` for one-record-per-entity sources.

Not implemented (the benchmark source has none of these faults by configuration): mojibake repair,
reversed name order.

Output: accepted rows (``dq_flags`` = warn rules that fired) and quarantine rows (first drop rule
in rule order, every rule that fired), as in :func:`lakehouse.silver.model.quarantine_rows`.

Benchmark code (formerly ``lakehouse/bench_duckdb.py``), not shipped with the wheel; needs the
``bench`` extra's DuckDB version (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

import duckdb

from lakehouse import reference
from lakehouse.reference import text

#: Canonical fields this implementation standardises, with the standardiser used.
FIELD_STD = {
    "record_key": "text", "full_name": "name", "birth_date": "date", "sex": "sex", "cccd": "cccd",
    "cmnd": "cmnd", "phone": "phone", "ethnicity": "ethnicity", "hometown": "text", "household_code": "code",
    "relation": "text", "death_date": "date", "status": "life_status",
}
ADDRESS_PARTS = ("street", "ward", "district", "province")

GSO_PROVINCE_CODES: tuple[str, ...] = tuple(f"0{c}" for c in (
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 46 "
    "48 49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 94 95 96"
).split())
SEX_WORDS = {"NAM": "M", "M": "M", "MALE": "M", "TRAI": "M", "NAM GIOI": "M",
             "NU": "F", "F": "F", "FEMALE": "F", "GAI": "F", "NU GIOI": "F", "W": "F"}
DEFAULT_SEX_CODES = {"1": "M", "2": "F"}
LIFE_STATUS = {"CON SONG": "alive", "DA MAT": "deceased", "DA CHET": "deceased", "SONG": "alive"}
OP_CODES = {"I": "I", "INSERT": "I", "U": "U", "UPDATE": "U", "D": "D", "DELETE": "D"}
ETHNIC_ALIASES = {"HMONG": "08", "MEO": "08", "MNONG": "20", "BRU": "23", "VANKIEU": "23",
                  "KHOME": "05", "KHMU": "29", "TAYOI": "31", "PATHEN": "46", "XODANG": "14",
                  "EDE": "12", "GIARAI": "10", "JRAI": "10", "BANA": "13", "RAGLAI": "21",
                  "XTIENG": "22", "STIENG": "22", "HOA": "04", "NGUOIHOA": "04", "VIET": "01"}

#: Spark SQL in rule conditions -> DuckDB SQL.
_REWRITES = (
    (re.compile(r"make_interval\(\s*0\s*,\s*0\s*,\s*0\s*,\s*([^)]+)\)", re.I), r"(INTERVAL (\1) DAY)"),
    (re.compile(r"current_timestamp\(\)", re.I), "CAST(current_localtimestamp() AS TIMESTAMP)"),
    (re.compile(r"current_date\(\)", re.I), "current_date"),
)
_SQL_WORDS = {"AND", "OR", "NOT", "IS", "NULL", "IN", "TRUE", "FALSE", "LIKE", "RLIKE", "BETWEEN", "CASE", "WHEN",
              "THEN", "ELSE", "END", "CAST", "AS", "STRING", "INT", "BIGINT", "DATE", "TIMESTAMP", "DOUBLE",
              "BOOLEAN", "INTERVAL", "DAY", "DAYS", "YEAR", "YEARS", "MONTH", "MONTHS", "DISTINCT", "ESCAPE"}


@dataclass(frozen=True)
class DuckRule:
    id: str
    criterion: str
    applies_to: str
    action: str
    when: str
    reason: str


def _q(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _list(values: Iterable[str]) -> str:
    return "CAST([" + ", ".join(map(_q, values)) + "] AS VARCHAR[])"


def _map(d: Mapping[str, str]) -> str:
    return "MAP {" + ", ".join(f"{_q(k)}: {_q(v)}" for k, v in d.items()) + "}"


def to_duckdb_sql(cond: str) -> str:
    for rx, repl in _REWRITES:
        cond = rx.sub(repl, cond)
    return cond


def referenced_names(sql: str) -> set[str]:
    """Bare identifiers a condition names (same rule as ``silver.model.referenced_names``)."""
    body = re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", sql)
    out = set()
    for m in re.finditer(r"(?<![\w.`])([A-Za-z_][A-Za-z0-9_]*)(?![\w`])(\s*\()?", body):
        if m.group(2) or m.group(1).upper() in _SQL_WORDS:
            continue
        out.add(m.group(1))
    return out


def load_rules(nodes: Iterable[Mapping[str, Any]], actions: Mapping[str, str] | None = None,
               table: str = "citizen") -> list[DuckRule]:
    """``silver.rules`` for a source of ``table``, with the source's ``rule_actions`` applied."""
    actions = dict(actions or {})
    out = []
    for n in nodes:
        if n.get("applies_to", "any") not in ("any", table):
            continue
        out.append(DuckRule(str(n["id"]), str(n["criterion"]), str(n.get("applies_to", "any")),
                            str(actions.get(n["id"], n["action"])), str(n["when"]), str(n["reason"])))
    return out


# ----------------------------------------------------------------------------- SQL fragments

@lru_cache(maxsize=None)
def _tone_pairs() -> tuple[tuple[str, str], ...]:
    """(old, new) clusters whose second letter is lower case (names are Title-cased first)."""
    return tuple((o, n) for o, n in text._OLD_TO_NEW.items() if o[1].islower())


@lru_cache(maxsize=None)
def _vowel_class() -> str:
    chars = set()
    for base in "aăâeêioôơuưy":
        for tone in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"):
            ch = text.nfc(base + tone)
            chars |= {ch, ch.upper()}
    return "".join(sorted(chars))


def _squeeze(x: str) -> str:
    return rf"trim(regexp_replace(nfc_normalize({x}), '[\s\x{{00a0}}]+', ' ', 'g'))"


def _text(x: str) -> str:
    return f"nullif({_squeeze(x)}, '')"


def _expand_address(x: str) -> str:
    for pattern, repl in _address_rules():
        x = f"regexp_replace({x}, {_q(pattern)}, {_q(repl)}, 'g')"
    return x


def _fold(x: str) -> str:
    return rf"trim(regexp_replace(replace(strip_accents(upper({x})), 'Đ', 'D'), '\s+', ' ', 'g'))"


def _title(x: str) -> str:
    return f"array_to_string(list_transform(string_split({x}, ' '), lambda w: upper(w[1]) || lower(w[2:])), ' ')"


#: Marks a cluster to rewrite (a Unicode noncharacter, as in ``standardise.to_new_tone``).
_MARK = "\ufdd0"


def _new_tone(x: str) -> str:
    """New tone placement: two regexes mark the oa/oe/uy clusters at a syllable end (not after a
    vowel; uy not after q), then one literal replace per cluster moves the tone."""
    vowels = _vowel_class()
    pairs = _tone_pairs()
    o2 = "".join(sorted({o[1] for o, _ in pairs if o[0] in "oO"}))
    u2 = "".join(sorted({o[1] for o, _ in pairs if o[0] in "uU"}))
    end = r"([^\p{L}\p{M}]|$)"
    marked = x
    # Twice: a match consumes the character after its cluster, which may be the one a next cluster
    # needs before it ("Khoẻ Oà"); a cluster marked twice is rewritten all the same.
    for _ in range(2):
        marked = (rf"regexp_replace(regexp_replace({marked}, '(^|[^{vowels}{_MARK}])([oO][{o2}]){end}', '\1{_MARK}\2\3', 'g'), "
                  rf"'(^|[^{vowels}qQ{_MARK}])([uU][{u2}]){end}', '\1{_MARK}\2\3', 'g')")
    expr = marked
    for old, new in pairs:
        expr = f"replace({expr}, '{_MARK}{old}', '{new}')"
    return (f"CASE WHEN regexp_matches({x}, '[oOuU][{o2}{u2}]{end}') "
            f"THEN replace({expr}, '{_MARK}', '') ELSE {x} END")


@lru_cache(maxsize=None)
def _name_forms(kind: str) -> tuple[str, ...]:
    """Title-cased surname / middle-name forms, as ``standardise._name_forms``."""
    rows = reference.surnames() if kind == "surname" else \
        list(reference.middle_names("M")) + list(reference.middle_names("F"))
    forms = set()
    for r in rows:
        n = str(r["name"])
        for v in (n, text.to_new_tone(n), text.strip_diacritics(n)):
            forms.add(v[:1].upper() + v[1:].lower())
    return tuple(sorted(forms))


def _reorder(t: str) -> str:
    """Reversed order (given name ... surname), as ``standardise._name_order``: when the last token is
    a known surname and the first is not, the surname moves first; if then the first remaining token
    is not a known middle name but the second is, the given name goes last."""
    sur = ", ".join(map(_q, _name_forms("surname")))
    mid = ", ".join(map(_q, _name_forms("middle")))
    tokens = f"string_split({t}, ' ')"
    first, second, last = f"{tokens}[1]", f"{tokens}[2]", f"{tokens}[-1]"
    swapped = f"(contains({t}, ' ') AND {last} IN ({sur}) AND {first} NOT IN ({sur}))"
    given_first = f"(len({tokens}) > 2 AND {first} NOT IN ({mid}) AND {second} IN ({mid}))"
    return (f"CASE WHEN {swapped} THEN CASE WHEN {given_first} "
            f"THEN {last} || ' ' || array_to_string({tokens}[2:-2], ' ') || ' ' || {first} "
            f"ELSE {last} || ' ' || array_to_string({tokens}[1:-2], ' ') END ELSE {t} END")


@lru_cache(maxsize=None)
def _address_rules() -> tuple[tuple[str, str], ...]:
    """``standardise._address_rules`` in RE2 (no look-around): the look-behind becomes a captured
    leading group, the trailing look-ahead a captured trailing group, both written back."""
    from lakehouse.silver.standardise.address import _address_rules as java_rules

    out = []
    for pattern, repl in java_rules():
        flags = "(?i)" if pattern.startswith("(?i)") else ""
        p = re.sub(r"^(\(\?i\))?\(\?=[^)]*\)", "", pattern)
        p = p.replace("(?<![\\p{L}\\p{M}\\d])", "(^|[^\\p{L}\\p{M}\\d])", 1)
        tail = re.search(r"\(\?!(\[[^\]]*\]|\\d)\)$", p)
        inner = len(re.findall(r"(?<!\\)\((?!\?)", p)) - 1
        r = "\\1" + repl.replace("$1", "\\2")
        if tail:
            neg = tail.group(1)
            neg = "[^" + neg[1:] if neg.startswith("[") else "\\D"
            p = p[:tail.start()] + f"({neg}|$)"
            r += f"\\{inner + 2}"
        out.append((flags + p, r))
    return tuple(out)


_DATE_RULES = (
    (r"^NGAY\s*(\d{1,2})\s*THANG\s*(\d{1,2})\s*NAM\s*(\d{2}|\d{4})$", r"\3-\2-\1"),
    (r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$", r"\3-\2-\1"),
    (r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?:[ T].*)?$", r"\1-\2-\3"),
    (r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3"),
    (r"^(\d{1,2})[/.\-](\d{4})$", r"\2-\1-0"),
    (r"^THANG\s*(\d{1,2})\s*NAM\s*(\d{4})$", r"\2-\1-0"),
    (r"^(\d{4})[/.\-](\d{1,2})$", r"\1-\2-0"),
    (r"^(?:NAM\s*)?(\d{4})$", r"\1-0-0"),
)


def _date_canon(x: str) -> str:
    canon = _fold(f"replace(nfc_normalize({x}), ',', ' ')")
    for pattern, repl in _DATE_RULES:
        canon = f"regexp_replace({canon}, {_q(pattern)}, {_q(repl)})"
    return canon


def _phone_tables() -> tuple[dict[str, str], dict[str, str]]:
    rows = reference.mobile_prefixes()
    carriers = {r["prefix"]: r["carrier"] for r in rows}
    old = {r["old_prefix"][2:]: r["prefix"] for r in rows if r["old_prefix"]}
    return carriers, old


def _ethnic_table() -> dict[str, str]:
    out = {}
    for r in reference.ethnicities():
        key = "".join(ch for ch in text.strip_diacritics(str(r["name"])).upper() if ch.isalnum())
        out[key] = str(r["code"])
    for k, v in ETHNIC_ALIASES.items():
        out.setdefault(k, v)
    return out


# ----------------------------------------------------------------------------- the query

def silver_sql(columns: Mapping[str, str], rules: list[DuckRule], *, key: str, op: str, updated_at: str,
               sex_codes: Mapping[str, str] | None = None, one_record_per_entity: bool = True,
               source: str = "population_registry", relation: str = "bronze") -> str:
    """The SQL of one batch: ``columns`` maps canonical fields (``FIELD_STD`` and address parts) to
    bronze column names of ``relation``; ``key``/``op``/``updated_at`` are bronze column names.
    Result: every bronze row with its standardised fields, ``_violations`` (list of rule ids),
    ``dq_flags``, ``_drop`` and ``rule_id`` (first drop rule)."""
    def raw(f: str) -> str:
        return f"CAST({_ident(columns[f])} AS VARCHAR)" if f in columns else "CAST(NULL AS VARCHAR)"

    carriers, old_prefix = _phone_tables()
    sex_map = {**SEX_WORDS, **dict(sex_codes or DEFAULT_SEX_CODES)}
    now_yy = "(year(current_date) % 100)"

    # 1. raw -> cleaned intermediate values
    stage1 = {
        "source": _q(source),
        "record_key": _text(raw("record_key") if "record_key" in columns else f"CAST({_ident(key)} AS VARCHAR)"),
        "op": f"coalesce({_map(OP_CODES)}[upper(trim(CAST({_ident(op)} AS VARCHAR)))], 'U')",
        "updated_at": (f"coalesce(TRY_CAST({_ident(updated_at)} AS TIMESTAMP), "
                       f"try_strptime(CAST({_ident(updated_at)} AS VARCHAR), '%d/%m/%Y %H:%M:%S'), "
                       f"CAST(_ingested_at AS TIMESTAMP))"),
        "_source_batch": "CAST(_source_batch AS INTEGER)", "_source_file": "_source_file",
        "_source_position": "CAST(_source_position AS BIGINT)", "_record_hash": "_record_hash",
        "_name_sq": _squeeze(raw("full_name")),
        "_id": rf"regexp_replace(regexp_replace({raw('cccd')}, '^\s*(\d+)\.0+\s*$', '\1'), '[\s.\-_\x{{00a0}}]', '', 'g')",
        "_cmnd_id": rf"regexp_replace(regexp_replace({raw('cmnd')}, '^\s*(\d+)\.0+\s*$', '\1'), '[\s.\-_\x{{00a0}}]', '', 'g')",
        "_phone": (rf"regexp_replace(regexp_replace(regexp_replace(regexp_replace({raw('phone')}, '[^0-9+]', '', 'g'), "
                   rf"'^(?:\+|00)?84(\d{{9,10}})$', '0\1'), '\+', '', 'g'), '^([1-9]\d{{8}}|1\d{{9}})$', '0\1')"),
        "phone_input": _text(raw("phone")),
        "sex_input": _text(raw("sex")),
        "sex": f"{_map(sex_map)}[regexp_replace({_fold(raw('sex'))}, '^(\\d+)\\.0+$', '\\1')]",
        "_eth": _squeeze(raw("ethnicity")),
        "hometown": _text(raw("hometown")),
        "household_code": f"upper({_text(raw('household_code'))})",
        "relation": _text(raw("relation")),
        "life_status": (f"CASE WHEN {_text(raw('status'))} IS NOT NULL THEN coalesce({_map(LIFE_STATUS)}"
                        f"[{_fold(_text(raw('status')))}], 'unknown') END"),
        "address_text": _expand_address("nullif(concat_ws(', ', " + ", ".join(_text(raw(p)) for p in ADDRESS_PARTS)
                                        + "), '')"),
    }
    for d in ("birth_date", "death_date"):
        stage1[f"_{d}_canon"] = f"nullif({_date_canon(raw(d))}, '')"

    # 2. names, dates, phone numbers
    name_init = _title("_name_sq")
    stage2 = {"_name_init": f"nullif({name_init}, '')"}
    for d in ("birth_date", "death_date"):
        c = f"_{d}_canon"
        ys = f"split_part({c}, '-', 1)"
        stage2[f"_{d}_ok"] = f"CASE WHEN {c} IS NOT NULL THEN regexp_matches({c}, '^\\d{{2,4}}-\\d{{1,2}}-\\d{{1,2}}$') END"
        stage2[f"_{d}_y"] = (f"CASE WHEN length({ys}) = 2 THEN CASE WHEN TRY_CAST({ys} AS INTEGER) > {now_yy} "
                             f"THEN TRY_CAST({ys} AS INTEGER) + 1900 ELSE TRY_CAST({ys} AS INTEGER) + 2000 END "
                             f"WHEN length({ys}) = 4 THEN TRY_CAST({ys} AS INTEGER) END")
        stage2[f"_{d}_m0"] = f"TRY_CAST(split_part({c}, '-', 2) AS INTEGER)"
        stage2[f"_{d}_d0"] = f"TRY_CAST(split_part({c}, '-', 3) AS INTEGER)"
    stage2["_pn"] = "length(_phone)"
    stage2["_new_prefix"] = (f"CASE WHEN length(_phone) = 11 AND starts_with(_phone, '01') "
                             f"THEN {_map(old_prefix)}[substr(_phone, 3, 2)] END")
    stage2["ethnicity"] = (f"coalesce(CASE WHEN regexp_matches(_eth, '^0*(\\d{{1,2}})(?:\\.0+)?$') THEN "
                           f"nullif(CASE WHEN lpad(regexp_extract(_eth, '^0*(\\d{{1,2}})', 1), 2, '0') BETWEEN '01' AND '54' "
                           f"THEN lpad(regexp_extract(_eth, '^0*(\\d{{1,2}})', 1), 2, '0') END, '') END, "
                           f"{_map(_ethnic_table())}[regexp_replace(regexp_replace({_fold('_eth')}, '^(DAN TOC|DT)\\s*', ''), "
                           f"'[^A-Z0-9]', '', 'g')])")

    # 3. swapped day/month, validity, final values
    stage3 = {"full_name": _reorder(_new_tone("_name_init"))}
    for d in ("birth_date", "death_date"):
        y, m0, d0 = f"_{d}_y", f"_{d}_m0", f"_{d}_d0"
        stage3[f"_{d}_swapped"] = f"({m0} > 12 AND {d0} BETWEEN 1 AND 12)"
        stage3[f"_{d}_m"] = f"CASE WHEN {m0} > 12 AND {d0} BETWEEN 1 AND 12 THEN {d0} ELSE {m0} END"
        stage3[f"_{d}_d"] = f"CASE WHEN {m0} > 12 AND {d0} BETWEEN 1 AND 12 THEN {m0} ELSE {d0} END"
    stage3["phone"] = (f"coalesce(CASE WHEN _new_prefix IS NOT NULL THEN _new_prefix || substr(_phone, 5, 7) "
                       f"WHEN _pn = 10 AND {_map(carriers)}[substr(_phone, 1, 3)] IS NOT NULL THEN _phone END, "
                       f"CASE WHEN _pn = 10 AND starts_with(_phone, '04') THEN '024' || substr(_phone, 3, 8) "
                       f"WHEN _pn = 11 AND starts_with(_phone, '02') THEN _phone END)")
    stage3["cmnd_std"] = ("CASE WHEN regexp_matches(_cmnd_id, '^\\d+$') THEN CASE WHEN length(_cmnd_id) IN (9, 12) "
                          "THEN _cmnd_id WHEN length(_cmnd_id) = 8 THEN '0' || _cmnd_id END END")
    stage3["_cccd12"] = ("CASE WHEN regexp_matches(_id, '^\\d+$') THEN CASE WHEN length(_id) = 12 THEN _id "
                         "WHEN length(_id) = 11 THEN '0' || _id END END")

    # 4. dates finished
    stage4 = {"name_folded": f"nullif({_fold('full_name')}, '')",
              "name_no_diacritics": "coalesce(length(full_name) = strlen(full_name), false)",
              "phone_carrier": f"CASE WHEN phone IS NOT NULL THEN {_map(carriers)}[substr(phone, 1, 3)] END"}
    for d in ("birth_date", "death_date"):
        y, m, dd_, ok = f"_{d}_y", f"_{d}_m", f"_{d}_d", f"_{d}_ok"
        leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
        mdays = (f"([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][CASE WHEN {m} BETWEEN 1 AND 12 THEN {m} ELSE 1 END]"
                 f" + CASE WHEN {m} = 2 AND {leap} THEN 1 ELSE 0 END)")
        year_only = f"({m} = 0 AND {dd_} = 0)"
        month_only = f"({dd_} = 0 AND {m} BETWEEN 1 AND 12)"
        day_ok = f"({m} BETWEEN 1 AND 12 AND {dd_} >= 1 AND {dd_} <= {mdays})"
        valid = (f"coalesce({ok} AND {y} BETWEEN 1800 AND 2200 AND ({year_only} OR {month_only} OR {day_ok}), false)")
        stage4[f"_{d}_valid"] = valid
        stage4[d] = (f"CASE WHEN {valid} THEN make_date({y}, CASE WHEN {year_only} THEN 1 ELSE {m} END, "
                     f"CASE WHEN {dd_} = 0 THEN 1 ELSE {dd_} END) END")
        stage4[f"{d}_precision"] = (f"CASE WHEN NOT {valid} THEN NULL WHEN {year_only} OR ({m} = 1 AND {dd_} = 1) "
                                    f"THEN 'year' WHEN {month_only} THEN 'month' ELSE 'day' END")
        stage4[f"{d}_flag"] = (f"CASE WHEN {ok} IS NULL THEN NULL WHEN NOT {ok} THEN 'unparsed' "
                               f"WHEN NOT {valid} THEN 'impossible' WHEN {year_only} THEN 'year_only' "
                               f"WHEN {m} = 1 AND {dd_} = 1 THEN 'possible_year_only' "
                               f"WHEN _{d}_swapped THEN 'day_month_swapped' END")

    # 5. CCCD against the record's own birth date and sex
    provinces = ", ".join(_q(c) for c in GSO_PROVINCE_CODES)
    g = "TRY_CAST(substr(_cccd12, 4, 1) AS INTEGER)"
    cccd_year = f"(1900 + CAST(floor({g} / 2) AS INTEGER) * 100 + TRY_CAST(substr(_cccd12, 5, 2) AS INTEGER))"
    reason = (f"CASE WHEN nullif(_id, '') IS NULL THEN 'missing' "
              f"WHEN NOT regexp_matches(_id, '^\\d+$') THEN 'not_digits' "
              f"WHEN length(_id) = 9 THEN 'cmnd' WHEN _cccd12 IS NULL THEN 'bad_length' "
              f"WHEN substr(_cccd12, 1, 3) NOT IN ({provinces}) THEN 'bad_province' "
              f"WHEN NOT ({g} BETWEEN 0 AND 5) THEN 'bad_century' "
              f"WHEN birth_date IS NOT NULL AND year(birth_date) <> {cccd_year} THEN 'birth_year_mismatch' "
              f"WHEN sex IS NOT NULL AND ((sex = 'F') <> ({g} % 2 = 1)) THEN 'sex_mismatch' END")
    stage5 = {"cccd_reason": reason}
    stage6 = {"cccd": "CASE WHEN cccd_reason IS NULL OR cccd_reason IN ('birth_year_mismatch', 'sex_mismatch') "
                      "THEN _cccd12 END",
              "cmnd": ("coalesce(cmnd_std, CASE WHEN cccd_reason = 'cmnd' THEN _id END)")}

    def select(cols: Mapping[str, str], src: str) -> str:
        return f"SELECT *, {', '.join(f'{e} AS {_ident(n)}' for n, e in cols.items())} FROM {src}"

    out_cols = ["source", "record_key", "op", "updated_at", "_source_batch", "_source_file", "_source_position",
                "_record_hash", "full_name", "name_folded", "name_no_diacritics", "birth_date", "birth_date_precision",
                "birth_date_flag", "sex", "sex_input", "cccd", "cccd_reason", "cmnd", "phone", "phone_carrier",
                "phone_input", "ethnicity", "hometown", "household_code", "relation", "death_date",
                "death_date_precision", "death_date_flag", "life_status", "address_text"]

    # 6. dedupe within the batch
    order = "_source_file, _source_position"
    dedupe = f"""
    d1 AS (SELECT {', '.join(out_cols)},
             row_number() OVER (PARTITION BY _source_batch, record_key, _record_hash ORDER BY {order}) AS _dup_rank,
             first(_source_position) OVER (PARTITION BY _source_batch, record_key, _record_hash ORDER BY {order}) AS _dup_first
           FROM s6),
    d2 AS (SELECT *, CASE WHEN _dup_rank > 1 THEN _dup_first END AS _duplicate_of,
             row_number() OVER w AS _latest_rank, first(_source_position) OVER w AS _latest_pos
           FROM d1 WINDOW w AS (PARTITION BY _source_batch, record_key, _dup_rank = 1
             ORDER BY updated_at DESC NULLS LAST, _source_file DESC, _source_position DESC)),
    d3 AS (SELECT * EXCLUDE (_dup_rank, _dup_first, _latest_rank, _latest_pos),
             CASE WHEN _dup_rank = 1 AND record_key IS NOT NULL AND _latest_rank > 1 THEN _latest_pos END AS _superseded_by
           FROM d2),
    d4 AS (SELECT *, {"CASE WHEN cccd IS NOT NULL THEN count(DISTINCT CASE WHEN op <> 'D' AND _duplicate_of IS NULL "
                      "AND _superseded_by IS NULL THEN record_key END) OVER (PARTITION BY _source_batch, cccd) ELSE 0 END"
                      if one_record_per_entity else "0"} AS _same_identity FROM d3)"""

    # 7. rules, from their own SQL
    known = set(out_cols) | {"_duplicate_of", "_superseded_by", "_same_identity"}
    missing = sorted({n for r in rules for n in referenced_names(r.when)} - known)
    nulls = "".join(f", CAST(NULL AS VARCHAR) AS {_ident(n)}" for n in missing)
    fired = [f"CASE WHEN op <> 'D' AND coalesce(({to_duckdb_sql(r.when)}), false) THEN {_q(r.id)} END" for r in rules]
    drops = [r.id for r in rules if r.action == "drop"]
    warns = [r.id for r in rules if r.action == "warn"]
    viol = f"list_filter([{', '.join(fired)}], lambda v: v IS NOT NULL)" if fired else "CAST([] AS VARCHAR[])"
    exclude = f" EXCLUDE ({', '.join(_ident(n) for n in missing)})" if missing else ""
    checked = f"""
    r1 AS (SELECT *{nulls} FROM d4),
    r2 AS (SELECT *{exclude}, {viol} AS _violations FROM r1),
    r3 AS (SELECT *,
             list_filter(_violations, lambda v: list_contains({_list(warns)}, v)) AS dq_flags,
             list_filter(_violations, lambda v: list_contains({_list(drops)}, v)) AS _drops
           FROM r2)
    SELECT * EXCLUDE (_drops), len(_drops) > 0 AS _drop, _drops[1] AS rule_id FROM r3"""

    return f"""WITH
    s1 AS ({select(stage1, relation)}),
    s2 AS ({select(stage2, 's1')}),
    s3 AS ({select(stage3, 's2')}),
    s4 AS ({select(stage4, 's3')}),
    s5 AS ({select(stage5, 's4')}),
    s6 AS (SELECT * EXCLUDE (cmnd_std), {stage6['cccd']} AS cccd, {stage6['cmnd']} AS cmnd FROM s5),
    {dedupe},
    {checked}"""


# ----------------------------------------------------------------------------- running it

def source_settings(cfg, source: str = "population_registry") -> dict[str, Any]:
    """Bronze column names and options of ``source`` from the composed config."""
    from omegaconf import OmegaConf

    from lakehouse.config import source_spec

    spec = source_spec(source, cfg.sources[source])
    silver = spec.raw.get("silver") or {}
    safe = _safe_name
    columns = {f: safe(spec.columns[f]) for f in (*FIELD_STD, *ADDRESS_PARTS) if f in spec.columns}
    sex_decl = (silver.get("fields") or {}).get("sex")
    codes = sex_decl.get("codes") if isinstance(sex_decl, dict) else None
    rules_node = OmegaConf.to_container(cfg.silver.rules, resolve=True)
    rules = load_rules(rules_node, silver.get("rule_actions"), silver.get("table", "citizen"))
    return {"columns": columns, "key": safe(spec.key), "op": safe(spec.op), "updated_at": safe(spec.updated_at),
            "sex_codes": codes, "one_record_per_entity": bool(silver.get("one_record_per_entity", False)),
            "rules": rules, "source": source}


def _safe_name(name: str) -> str:
    """Bronze's column naming (``bronze.transforms.safe_name``), without importing Spark."""
    import unicodedata

    s = name.replace("\ufeff", "").replace("đ", "d").replace("Đ", "D")
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = s.encode("ascii", "ignore").decode().lower().strip()
    parts = [re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", p)).strip("_") for p in s.split(".")]
    s = "__".join(p for p in parts if p) or "col"
    if s[0].isdigit() or s.startswith("_"):
        s = f"c_{s}"
    return s


def checked_relation(con: duckdb.DuckDBPyConnection, settings: Mapping[str, Any], relation: str = "bronze"):
    """The checked rows (standardised, deduplicated, rules evaluated) as a DuckDB relation."""
    present = set(con.sql(f"SELECT * FROM {relation} LIMIT 0").columns)
    columns = {f: c for f, c in settings["columns"].items() if c in present}   # absent columns read as NULL
    sql = silver_sql(columns, settings["rules"], key=settings["key"], op=settings["op"],
                     updated_at=settings["updated_at"], sex_codes=settings.get("sex_codes"),
                     one_record_per_entity=settings.get("one_record_per_entity", True),
                     source=settings.get("source", "population_registry"), relation=relation)
    return con.sql(sql)


def run_silver_duckdb(cfg, bronze_path: str, out_dir: str, source: str = "population_registry",
                      threads: int | None = None) -> dict[str, Any]:
    """Read the bronze Delta table, standardise/validate/dedupe in DuckDB, write the accepted rows and
    the quarantine as Parquet under ``out_dir``. Returns counts, per-rule violations and seconds."""
    from deltalake import DeltaTable

    t0 = time.perf_counter()
    settings = source_settings(cfg, source)
    os.makedirs(out_dir, exist_ok=True)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    bronze = DeltaTable(bronze_path).to_pyarrow_dataset()  # noqa: F841 - scanned by name below
    con.register("bronze", bronze)
    con.execute(f"CREATE TEMP TABLE checked AS {checked_relation(con, settings, 'bronze').sql_query()}")
    keep = ("* EXCLUDE (_violations, _drop, rule_id, _duplicate_of, _superseded_by, _same_identity)")
    accepted_path = os.path.join(out_dir, "accepted.parquet")
    quarantine_path = os.path.join(out_dir, "quarantine.parquet")
    con.execute(f"COPY (SELECT {keep} FROM checked WHERE NOT _drop) TO {_q(accepted_path)} (FORMAT parquet)")
    con.execute(f"COPY (SELECT source, record_key, _source_batch, _source_file, _source_position, rule_id, "
                f"_violations AS rules, _record_hash FROM checked WHERE _drop) TO {_q(quarantine_path)} (FORMAT parquet)")
    rows, accepted = con.execute("SELECT count(*), count(*) FILTER (WHERE NOT _drop) FROM checked").fetchone()
    per_rule = dict(con.execute("SELECT v, count(*) FROM (SELECT unnest(_violations) AS v FROM checked) GROUP BY v")
                    .fetchall())
    con.close()
    return {"bronze_rows": int(rows), "accepted": int(accepted), "quarantined": int(rows - accepted),
            "violations": {r.id: int(per_rule.get(r.id, 0)) for r in settings["rules"]},
            "inner_seconds": round(time.perf_counter() - t0, 3), "duckdb_version": duckdb.__version__}
