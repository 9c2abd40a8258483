"""The synthetic population: citizens and enterprises whose every attribute is a column expression
of (seed, entity id, batch). Any source can compute any entity's attributes without a join, which is
what keeps generation a single native pass per source."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse import reference as ref
from lakehouse.simulate import pools
from lakehouse.simulate.rng import array_literal, chance, pick, randint, uniform, weighted

SLOTS = 8192
SERIAL_SPACE = 1_000_000
REFERENCE_YEAR = 2025


@dataclass(frozen=True)
class World:
    """Everything a generator needs to know about the run: sizes, seed, batch and calendar."""

    seed: int
    citizens: int
    enterprises: int
    batch: int
    snapshot_date: dt.date
    batch_days: int
    rates: dict = field(default_factory=dict)

    def batch_start(self, k: int) -> dt.date:
        return self.snapshot_date + dt.timedelta(days=self.batch_days * (k - 1)) if k > 0 else self.snapshot_date

    def batch_date(self, k: int) -> dt.date:
        """The extract date of batch k (batch 0 is the snapshot)."""
        return self.snapshot_date + dt.timedelta(days=self.batch_days * k)


def _slots(world: World) -> tuple[list[int], int]:
    slots, max_occ = pools.slot_table(world.seed, SLOTS)
    per_slot = -(-world.citizens // SLOTS)
    if per_slot * max_occ >= SERIAL_SPACE:
        raise ValueError(
            f"population of {world.citizens:,} citizens is too large for unique CCCD serials "
            f"({per_slot * max_occ:,} >= {SERIAL_SPACE:,}); raise SLOTS")
    return slots, max_occ


def _epoch(world: World, salt: str, rate: float, key: Column) -> Column:
    """How many of the batches 1..world.batch changed this entity (moves, renames)."""
    if world.batch <= 0 or rate <= 0:
        return F.lit(0)
    hits = [chance(world.seed, salt, rate, key, F.lit(k)).cast("int") for k in range(1, world.batch + 1)]
    total = hits[0]
    for h in hits[1:]:
        total = total + h
    return total


def _event_batch(world: World, salt: str, rate: Column, key: Column) -> Column:
    """The first batch 1..world.batch in which an event happened, or null."""
    out = F.lit(None).cast("int")
    for k in range(world.batch, 0, -1):
        out = F.when(chance(world.seed, salt, rate, key, F.lit(k)), F.lit(k)).otherwise(out)
    return out


def _stage(df: DataFrame, prefix: str, exprs: dict[str, Column]) -> tuple[DataFrame, dict[str, Column]]:
    """Add `exprs` as columns `<prefix><name>` and return references to them. Staging keeps costly
    expressions computed once: Spark does not inline a non-trivial column referenced many times."""
    df = df.select("*", *[c.alias(f"{prefix}{k}") for k, c in exprs.items()])
    return df, {k: F.col(f"{prefix}{k}") for k in exprs}


def with_citizen(df: DataFrame, world: World, pid: Column, prefix: str) -> tuple[DataFrame, dict[str, Column]]:
    """Add every attribute of citizen `pid` as of `world.batch` (true, clean values) as columns
    `<prefix>*`; returns references to them. Unused ones are pruned by Spark's optimizer."""
    s = world.seed
    slots, max_occ = _slots(world)
    df, a = _stage(df, prefix, {"person_id": pid.cast("long")})
    pid = a["person_id"]
    df, b = _stage(df, prefix, {
        "packed": pick(slots, F.pmod(pid, F.lit(SLOTS))),
        "household_id": F.floor(pid / 4),
        "household_role": F.pmod(pid, F.lit(4)),
        "move_epoch": _epoch(world, "move", world.rates.get("move_rate", 0.0), pid),
        "rename_epoch": _epoch(world, "rename", world.rates.get("rename_rate", 0.0), pid),
    })
    packed = b["packed"]
    df, c = _stage(df, prefix, {
        "birth_province": (packed / 10_000_000).cast("int"),
        "female": ((packed / 1_000_000).cast("int") % 10) == 1,
        "birth_year": (packed / 100).cast("int") % 10_000,
        "occ": packed % 100,
    })
    birth_prov, female, year, role, household = (c["birth_province"], c["female"], c["birth_year"],
                                                 b["household_role"], b["household_id"])
    serial = F.floor(pid / SLOTS) * max_occ + c["occ"]
    bucket_offset = randint(s, "cccd-bucket", SERIAL_SPACE, birth_prov, female.cast("int"), year)
    serial = F.pmod(serial * F.lit(7919) + bucket_offset, F.lit(SERIAL_SPACE))
    century_digit = (F.floor(year / 100) - 19) * 2 + female.cast("int")

    sur = pools.surnames()
    mid_m, mid_f = pools.middle_names("M"), pools.middle_names("F")
    giv_m, giv_f = pools.given_names("M"), pools.given_names("F")
    geo = pools.geography()
    move = b["move_epoch"]
    province_i = F.when(chance(s, "stay-home", 0.8, pid, move),
                        F.array_position(array_literal(tuple(geo.province_codes)), birth_prov) - 1) \
        .otherwise(randint(s, "home-prov", len(geo.province_codes), pid, move))
    prefixes = [p for p in ref.mobile_prefixes() if p["carrier"] != "uncertain"]
    eth = ref.ethnicities()
    df, d = _stage(df, prefix, {
        "cccd": F.concat(F.lpad(birth_prov.cast("string"), 3, "0"), century_digit.cast("string"),
                         F.lpad((year % 100).cast("string"), 2, "0"), F.lpad(serial.cast("string"), 6, "0")),
        "birth_date": F.date_add(F.make_date(year, F.lit(1), F.lit(1)), randint(s, "dob", 365, pid).cast("int")),
        "age": F.lit(REFERENCE_YEAR + world.batch_days * world.batch // 365) - year,
        "surname_idx": F.when(role == 1, pick(sur.urn, randint(s, "surname", len(sur.urn), pid)))
        .otherwise(pick(sur.urn, randint(s, "surname", len(sur.urn), household))),
        "middle_idx": F.when(female, pick(mid_f.urn, randint(s, "middle", len(mid_f.urn), pid)))
        .otherwise(pick(mid_m.urn, randint(s, "middle", len(mid_m.urn), pid))),
        "given_idx": F.when(female, pick(giv_f.urn, randint(s, "given", len(giv_f.urn), pid, b["rename_epoch"])))
        .otherwise(pick(giv_m.urn, randint(s, "given", len(giv_m.urn), pid, b["rename_epoch"]))),
        "province_i": province_i,
        "house_no": randint(s, "house", 300, pid, move) + 1,
        "street_idx": randint(s, "street", len(pools.STREETS), pid, move),
        "phone_idx": randint(s, "carrier", len(prefixes), pid),
        "ethnicity": weighted(s, "ethnicity", [e["code"] for e in eth], [float(e["weight"]) for e in eth], household),
        "cmnd": F.when(year <= 2000, F.concat(F.lpad(F.pmod(birth_prov, F.lit(90)).cast("string"), 2, "0"),
                                              F.lpad(randint(s, "cmnd", 10_000_000, pid).cast("string"), 7, "0"))),
        "moved": move > 0,
    })
    age, birth_date = d["age"], d["birth_date"]
    phone_line = F.lpad(randint(s, "phone", 10_000_000, pid).cast("string"), 7, "0")
    old_prefix = pick([p["old_prefix"] or "" for p in prefixes], d["phone_idx"])
    # Deaths: before the snapshot with an age-dependent rate, then per batch.
    p_dead = F.when(age >= 85, 0.30).when(age >= 70, 0.10).when(age >= 45, 0.02).otherwise(0.003)
    early_death = F.greatest(F.date_sub(F.lit(world.snapshot_date), randint(s, "death-day", 3650, pid).cast("int")),
                             F.date_add(birth_date, 1))
    death_batch = _event_batch(world, "death", p_dead * F.lit(world.rates.get("death_rate", 0.0) * 20), pid)
    batch_death = F.date_add(F.lit(world.snapshot_date), (death_batch - 1) * world.batch_days
                             + randint(s, "bd-day", world.batch_days, pid).cast("int"))
    df, e = _stage(df, prefix, {
        "ward_idx": (pick(geo.ward_start, d["province_i"])
                     + F.pmod(randint(s, "ward", 1 << 30, pid, move), pick(geo.ward_count, d["province_i"]))).cast("int"),
        "phone_new": F.when(age >= 16, F.concat(pick([p["prefix"] for p in prefixes], d["phone_idx"]), phone_line)),
        "phone_old": F.when((age >= 16) & (old_prefix != ""), F.concat(old_prefix, phone_line)),
        "death_date": F.when(chance(s, "dead", p_dead, pid), early_death)
        .when(death_batch.isNotNull(), batch_death),
    })
    employed = (age >= 18) & (age <= 62) & chance(s, "employed", 0.62, pid) & e["death_date"].isNull()
    employer = F.floor(F.pow(uniform(s, "employer", pid), F.lit(2.0)) * F.lit(world.enterprises)).cast("long")
    df, f = _stage(df, prefix, {"employed": employed})
    df, g = _stage(df, prefix, {"employer_id": F.when(f["employed"], employer)})
    return df, {**a, **b, **c, **d, **e, **f, **g}


def with_enterprise(df: DataFrame, world: World, eid: Column, prefix: str) -> tuple[DataFrame, dict[str, Column]]:
    """Add every attribute of enterprise `eid` as of `world.batch` as columns `<prefix>*`."""
    s = world.seed
    geo = pools.geography()
    sections = ref.vsic_sections()
    weights = [w ** 1.3 for w in geo.province_weights]
    df, a = _stage(df, prefix, {"enterprise_id": eid.cast("long")})
    eid = a["enterprise_id"]
    df, b = _stage(df, prefix, {
        "province_i": weighted(s, "firm-prov", list(range(len(geo.province_codes))), weights, eid),
        "sector": weighted(s, "sector", [x["code"] for x in sections], [float(x["weight"]) for x in sections], eid),
        "employees": F.floor(F.exp(uniform(s, "size", eid) * uniform(s, "size2", eid) * F.lit(8.0))).cast("int") + 1,
        "founded_date": F.date_sub(F.lit(world.snapshot_date),
                                   F.floor(F.pow(uniform(s, "founded", eid), F.lit(1.6)) * F.lit(30 * 365)).cast("int")),
    })
    province_i, sector, employees, founded = b["province_i"], b["sector"], b["employees"], b["founded_date"]
    firm_age = F.datediff(F.lit(world.snapshot_date), founded) / F.lit(365.0)
    # Risk of stopping: small, young firms in retail, hospitality and construction fail most.
    logit = (F.lit(-2.2) + F.when(employees <= 5, 1.2).otherwise(0.0)
             + F.when(sector.isin("G", "I", "F"), 0.8).otherwise(0.0)
             + F.when(firm_age < 2, 0.6).otherwise(0.0) - F.when(employees > 50, 1.0).otherwise(0.0)
             + (uniform(s, "risk-noise", eid) - 0.5))
    prefix_by_prov = ref.tax_office_prefix()
    df, c = _stage(df, prefix, {
        "risk": F.lit(1.0) / (F.lit(1.0) + F.exp(-logit)),
        "province_code": pick(geo.province_codes, province_i),
        "ward_idx": (pick(geo.ward_start, province_i)
                     + F.pmod(randint(s, "firm-ward", 1 << 30, eid), pick(geo.ward_count, province_i))).cast("int"),
        "body8": F.concat(pick([prefix_by_prov.get(f"{x:02d}", f"{x:02d}") for x in geo.province_codes], province_i),
                          F.lpad(F.pmod(eid * F.lit(7_919) + F.lit(s % 1000), F.lit(1_000_000)).cast("string"), 6, "0")),
        "firm_age": firm_age,
    })
    risk, body8 = c["risk"], c["body8"]
    dissolved_before = chance(s, "dissolved", risk * 0.6, eid) & (c["firm_age"] > 1)
    dissolved_at = F.date_add(founded, F.floor(F.datediff(F.lit(world.snapshot_date), founded)
                                                * F.lit(0.5) * (uniform(s, "diss-day", eid) + 1)).cast("int"))
    dissolve_batch = _event_batch(world, "dissolve", risk * F.lit(world.rates.get("dissolve_rate", 0.0) * 4), eid)
    weights9 = (31, 29, 23, 19, 17, 13, 7, 5)
    partial = sum(F.substring(body8, i + 1, 1).cast("int") * w for i, w in enumerate(weights9))
    d9 = randint(s, "mst-d9", 10, eid)
    df, d = _stage(df, prefix, {
        "dissolved_date": F.when(dissolved_before, F.least(dissolved_at, F.date_sub(F.lit(world.snapshot_date), 1)))
        .when(dissolve_batch.isNotNull(),
              F.date_add(F.lit(world.snapshot_date), (dissolve_batch - 1) * world.batch_days + 1)),
        "partial": partial,
        "d9": F.when(F.pmod(partial + d9 * 3, F.lit(11)) == 0, F.pmod(d9 + 1, F.lit(10))).otherwise(d9),
        "name_idx": F.array(randint(s, "firm-form", len(pools.FIRM_FORMS), eid),
                            randint(s, "firm-trade", len(pools.FIRM_TRADES), eid),
                            randint(s, "firm-word", len(pools.FIRM_WORDS), eid)),
    })
    check = F.pmod(F.lit(10) - F.pmod(d["partial"] + d["d9"] * 3, F.lit(11)), F.lit(10))
    name_idx = tuple(F.element_at(d["name_idx"], i) for i in (1, 2, 3))
    df, e = _stage(df, prefix, {
        "tax_code": F.concat(body8, d["d9"].cast("string"), check.cast("string")),
        "enterprise_name": firm_name(name_idx, "nfc"),
        "enterprise_name_ascii": F.upper(firm_name(name_idx, "ascii")),
        "suspended": chance(s, "suspended", risk * 0.15, eid) & d["dissolved_date"].isNull(),
        "owner_id": randint(s, "owner", world.citizens, eid),
        "capital": employees * (randint(s, "capital", 50, eid) + 1) * F.lit(100_000_000),
        "house_no": randint(s, "firm-house", 500, eid) + 1,
        "street_idx": randint(s, "firm-street", len(pools.STREETS), eid),
    })
    return df, {**a, **b, **c, **d, **e}


def firm_name(name_idx: tuple[Column, Column, Column], variant: str) -> Column:
    """'<legal form> <trade> <brand>' in one text variant."""
    parts = (pools.FIRM_FORMS, pools.FIRM_TRADES, pools.FIRM_WORDS)
    return F.concat_ws(" ", *[pick(pools.text_variants(tuple(p))[variant], i) for p, i in zip(parts, name_idx)])
