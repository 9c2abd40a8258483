"""Every native standardiser agrees with its pure-Python oracle, field for field, on a fixed value set:
ONE DataFrame, ONE select applying every standardiser, ONE collect.

Per rule a few hundred deterministic raw values (``tests.oracles.values.fixed_values``: a seeded
generator with the faults of docs/domain.md#text-faults, plus edge values), then the oracle's standardised forms of
those values (so the native rule is also checked on its own outputs: with the oracles' idempotence,
tested without a JVM in ``tests/unit/silver/test_oracles.py``, that makes the native rules idempotent
on these values). The properties themselves run on the oracles, with hundreds of examples, in the
unit tier; this test ties the native columns to them.
"""

from __future__ import annotations

import datetime as dt
import random

from pyspark.sql import functions as F

from lakehouse.silver import standardise as S
from tests.oracles import values as V
from tests.oracles.standardisers import ORACLES, py_cccd, py_sex

OTHER_CODES = {"1": "M", "0": "F"}       # a source whose numeric sex codes are 1=M, 0=F

#: rule -> native standardiser of one column (address: a DataFrame function, applied apart).
NATIVE = {
    "name": S.standardise_name, "date": S.parse_date, "cccd": S.standardise_cccd, "cmnd": S.standardise_cmnd,
    "tax_code": S.standardise_tax_code, "insurance": S.standardise_insurance_number,
    "phone": S.standardise_phone, "sex": S.standardise_sex, "ethnicity": S.standardise_ethnicity,
}
RULES = (*NATIVE, "address")


def _standardised(rule: str, raw: str | None) -> str | None:
    """The oracle's standardised value of ``raw`` as text, to feed back in (None: nothing to feed)."""
    if rule == "address":
        return None
    out = ORACLES[rule](raw)
    v = out if isinstance(out, str) or out is None else out[0]
    return v.isoformat() if isinstance(v, dt.date) else v


def value_sets() -> dict[str, list[str | None]]:
    sets = {}
    for rule in RULES:
        raw = V.fixed_values(rule)
        again = [_standardised(rule, v) for v in raw]
        sets[rule] = list(dict.fromkeys(raw + [v for v in again if v is not None]))
    return sets


def _plain(v):
    """A collected value as the oracles return it: structs -> tuples."""
    return tuple(v) if v is not None and not isinstance(v, (str, dt.date)) else v


def test_native_standardisers_agree_with_the_oracles(spark):
    sets = value_sets()
    n = max(len(v) for v in sets.values())
    rng = random.Random(20260102)
    context = [V.cccd_context(rng, sets["cccd"][i] if i < len(sets["cccd"]) else None) for i in range(n)]
    rows = [(i, *[sets[r][i] if i < len(sets[r]) else None for r in RULES], *context[i]) for i in range(n)]
    schema = "id int, " + ", ".join(f"{r} string" for r in RULES) + ", birth date, female boolean"
    df = S.standardise_address(spark.createDataFrame(rows, schema), address="address", prefix="a_")
    address_fields = [c for c in df.columns if c.startswith("a_")]
    out = df.select(
        "id", *RULES, "birth", "female",
        *[fn(r).alias(f"o_{r}") for r, fn in NATIVE.items()],
        S.standardise_cccd("cccd", "birth", "female").alias("o_cccd_checked"),
        S.standardise_sex("sex", OTHER_CODES).alias("o_sex_codes"),
        F.struct(*address_fields).alias("o_address"),
    ).collect()
    assert sorted(r.id for r in out) == list(range(n))       # standardise_address kept every row once

    checks = {r: (lambda row, r=r: ORACLES[r](row[r])) for r in RULES}
    checks["cccd_checked"] = lambda row: py_cccd(row.cccd, row.birth, row.female)
    checks["sex_codes"] = lambda row: py_sex(row.sex, OTHER_CODES)
    source = {"cccd_checked": "cccd", "sex_codes": "sex"}
    bad, compared = [], 0
    for row in sorted(out, key=lambda r: r.id):
        for label, oracle in checks.items():
            rule = source.get(label, label)
            if row.id >= len(sets[rule]):
                continue                                      # padding of a shorter value set
            compared += 1
            native, expected = _plain(row[f"o_{label}"]), oracle(row)
            if native != expected:
                extra = f" (birth {row.birth}, female {row.female})" if label == "cccd_checked" else ""
                bad.append(f"{label}: input {row[rule]!r}{extra}\n    native {native!r}\n    oracle {expected!r}")
    assert compared == sum(len(sets[source.get(k, k)]) for k in checks)
    assert not bad, f"{len(bad)} of {compared} values differ:\n" + "\n".join(bad[:80])
