"""One source system's records for one batch: which entity each record is about, what the source
stores about it (rendered with faults), and the hidden truth. Pure DataFrame construction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import reference as ref
from lakehouse.config import SourceSpec
from lakehouse.simulate import pools, render
from lakehouse.simulate.population import World, with_citizen, with_enterprise
from lakehouse.simulate.rng import (
    array_literal,
    chance,
    permute,
    pick,
    randint,
    uniform,
)

TRUTH_PREFIX = "_truth_"
NAME_FAULTS = ("name_nfd", "name_old_tone", "name_no_diacritics", "name_upper", "name_order",
               "name_extra_space", "name_typo", "name_drop_middle", "name_mojibake")
DATE_FAULTS = ("date_format", "date_swap", "date_year_only", "date_impossible", "date_text")
ID_FAULTS = ("missing_id", "cmnd_only", "id_lost_zero", "id_separators")
# Faults the truth reports only when the source carries the field they damage.
FAULT_FIELD = {**{f: "full_name" for f in NAME_FAULTS}, **{f: "birth_date" for f in DATE_FAULTS},
               **{f: "cccd" for f in ID_FAULTS}, "phone_old11": "phone", "phone_format": "phone",
               "address_old": "address", "address_abbrev": "address", "tax_bad_check": "tax_code"}


@dataclass(frozen=True)
class Ctx:
    """What a kind builder sees for one record."""

    world: World
    spec: SourceSpec
    key: Column          # the row whose values the record carries (the value row)
    person: dict         # citizen attributes (person sources)
    ward: dict           # ward reference columns of the entity's address
    flags: dict
    gen: dict
    others: dict         # related entities (father, employer, owner...), by role

    @property
    def seed(self) -> int:
        return self.world.seed

    def u(self, salt: str) -> Column:
        return uniform(self.seed, f"{self.spec.name}:{salt}", self.key)

    def n(self, salt: str, n: int) -> Column:
        return randint(self.seed, f"{self.spec.name}:{salt}", n, self.key)

    def date(self, d: Column, salt: str, faults: bool = False) -> Column:
        flags = self.flags if faults else {f: F.lit(False) for f in DATE_FAULTS}
        return render.date_text(d, self.gen.get("date_format", "dd/MM/yyyy"),
                                list(self.gen.get("alt_date_formats", [])), self.seed, self.key,
                                f"{self.spec.name}:{salt}", flags)


def source_size(spec: SourceSpec, total_records: int, scale: float) -> int:
    return max(1, int(round(spec.share_millions * 1e6 / 157e6 * total_records * scale)))


def fault_flags(world: World, spec: SourceSpec, rates: dict, key: Column, as_number: bool) -> dict:
    flags = {f: chance(world.seed, f"{spec.name}:fault:{f}", float(rate), key) for f, rate in rates.items()}
    # Name variants are exclusive: one text form per record.
    flags["name_variant"] = (F.when(flags["name_mojibake"], "mojibake").when(flags["name_no_diacritics"], "ascii")
                             .when(flags["name_nfd"], "nfd").when(flags["name_old_tone"], "old_tone")
                             .otherwise("nfc"))
    # The truth reports the text form actually written.
    for fault, variant in (("name_mojibake", "mojibake"), ("name_no_diacritics", "ascii"), ("name_nfd", "nfd"),
                           ("name_old_tone", "old_tone")):
        flags[fault] = flags["name_variant"] == variant
    if as_number:
        flags["id_lost_zero"] = F.lit(True)
    return flags


# --- kind builders: canonical field -> rendered column --------------------------------------------

def _person_fields(c: Ctx, p: dict, passport: bool = False) -> dict[str, Column]:
    legacy = c.gen.get("legacy_text") is not None
    tokens = (F.col("t_0"), F.col("t_1"), F.col("t_2"))
    codes = c.gen.get("sex_codes", {"M": "Nam", "F": "Nữ"})
    text_variant = "cp1258" if legacy else "nfc"
    addr = render.address_parts(c.ward, p["house_no"], p["street_idx"], c.seed, c.key, c.flags, text_variant)
    birth = p["birth_date"]
    birth = F.when(c.flags["conflict"], F.add_months(birth, 12)).otherwise(birth)
    return {
        "full_name": render.full_name(c.seed, c.key, tokens, c.flags, passport),
        "birth_date": c.date(birth, "dob", faults=True),
        "sex": F.when(p["female"], F.lit(str(codes["F"]))).otherwise(F.lit(str(codes["M"]))),
        "cccd": render.cccd_text(p["cccd"], c.seed, c.key, c.flags, bool(c.gen.get("id_as_number"))),
        "cmnd": F.when(c.flags["cmnd_only"], F.coalesce(p["cmnd"], F.substring(p["cccd"], 4, 9))).otherwise(p["cmnd"]),
        "phone": render.phone_text(p["phone_new"], p["phone_old"], c.seed, c.key, c.flags),
        "ethnicity": p["ethnicity"],
        **addr,
    }


def _plain_name(c: Ctx, p: dict) -> Column:
    legacy = c.gen.get("legacy_text") is not None
    tokens = render.name_tokens(F.lit("nfc"), p["female"], p["surname_idx"], p["middle_idx"], p["given_idx"], legacy)
    return F.concat_ws(" ", *tokens)


def _tax_text(c: Ctx, mst: Column) -> Column:
    last = F.substring(mst, 10, 1).cast("int")
    bad = F.concat(F.substring(mst, 1, 9), F.pmod(last + 1, F.lit(10)).cast("string"), F.substring(mst, 11, 10))
    return F.when(c.flags["tax_bad_check"], bad).otherwise(mst)


def _province_names() -> list[str]:
    geo = pools.geography()
    names = {}
    for w in geo.wards:
        names.setdefault(int(w["province_code"]), w["province_name"])
    return [names[code] for code in geo.province_codes]


def _birth_province_name(p: dict) -> Column:
    codes = pools.geography().province_codes
    return pick(_province_names(), F.array_position(array_literal(tuple(codes)), p["birth_province"]) - 1)


def k_population(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    out.update({
        "hometown": _birth_province_name(p),
        "household_code": F.concat(F.lit("HK"), F.lpad(p["household_id"].cast("string"), 10, "0")),
        "relation": pick(["Chủ hộ", "Vợ", "Con", "Con"], p["household_role"]),
        "death_date": c.date(p["death_date"], "death"),
        "status": F.when(p["death_date"].isNotNull(), "Đã mất").otherwise("Còn sống"),
    })
    return out


def k_civil_status(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    dead = p["death_date"].isNotNull()
    kind = (F.when(dead & (c.u("ev") < 0.6), "Khai tử")
            .when((p["age"] >= 20) & (c.u("ev2") < 0.4), "Kết hôn").otherwise("Khai sinh"))
    event_date = (F.when(kind == "Khai tử", F.date_add(p["death_date"], c.n("dd", 30).cast("int")))
                  .when(kind == "Kết hôn", F.date_add(p["birth_date"], (8000 + c.n("md", 4000)).cast("int")))
                  .otherwise(F.date_add(p["birth_date"], c.n("bd", 60).cast("int"))))
    father, mother, spouse = c.others["father"], c.others["mother"], c.others["spouse"]
    is_child = p["household_role"] >= 2
    out.update({
        "event_type": kind,
        "event_date": c.date(event_date, "event"),
        "father_name": F.when((kind == "Khai sinh") & is_child, _plain_name(c, father)),
        "mother_name": F.when((kind == "Khai sinh") & is_child, _plain_name(c, mother)),
        "spouse_name": F.when((kind == "Kết hôn") & (p["household_role"] <= 1), _plain_name(c, spouse)),
        "death_date": F.when(kind == "Khai tử", c.date(p["death_date"], "death")),
        "registry_office": F.concat(F.lit("UBND "), c.ward["ward_name"]),
    })
    return out


def k_id_card(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    issued = F.date_add(F.lit("2016-01-01").cast("date"), c.n("issued", 3300).cast("int"))
    expiry_age = F.when(p["age"] < 25, 25).when(p["age"] < 40, 40).when(p["age"] < 60, 60)
    out.update({
        "hometown": _birth_province_name(p),
        "issue_date": c.date(issued, "issued"),
        "expiry_date": F.when(expiry_age.isNull(), F.lit("Không thời hạn"))
        .otherwise(c.date(F.add_months(p["birth_date"], expiry_age * 12), "expiry")),
        "issue_place": F.lit("Cục Cảnh sát quản lý hành chính về trật tự xã hội"),
    })
    return out


def _employer(c: Ctx) -> dict:
    return c.others["employer"]


def _salary(c: Ctx, e: dict) -> Column:
    size = F.when(e["employees"] > 50, 1.5).when(e["employees"] > 10, 1.2).otherwise(1.0)
    return F.round(F.lit(4_500_000.0) * F.exp(uniform(c.seed, "salary", c.person["person_id"]) * 1.6) * size, -3)


def insured(world: World, p: dict, e: dict) -> Column:
    """Whether an employed citizen is enrolled in social insurance by employer `e` (the coverage-gap
    signal: small firms in agriculture, construction, retail and hospitality enrol least)."""
    logit = (F.lit(0.4) + F.when(e["employees"] > 50, 1.3).when(e["employees"] > 10, 0.6).otherwise(-0.4)
             - F.when(e["sector"].isin("A", "F", "G", "I"), 1.0).otherwise(0.0)
             - (p["age"] - 40) * 0.02 + F.when(p["birth_province"].isin(1, 79), 0.5).otherwise(0.0)
             - F.when(e["dissolved_date"].isNotNull(), 2.0).otherwise(0.0))
    prob = F.lit(1.0) / (F.lit(1.0) + F.exp(-logit))
    return p["employed"] & (uniform(world.seed, "insured", p["person_id"]) < prob)


def k_social_insurance(c: Ctx) -> dict[str, Column]:
    p = c.person
    e = _employer(c)
    out = _person_fields(c, p)
    start = F.greatest(e["founded_date"], F.add_months(p["birth_date"], 18 * 12 + 6))
    out.update({
        "bhxh_number": F.concat(F.lpad(F.pmod(p["birth_province"], F.lit(100)).cast("string"), 2, "0"),
                                F.lpad(permute(p["person_id"], 100_000_000, c.seed, "bhxh").cast("string"), 8, "0")),
        "employer_tax_code": _tax_text(c, e["tax_code"]),
        "salary": _salary(c, e).cast("long").cast("string"),
        "start_month": F.date_format(start, "MM/yyyy"),
        "end_month": F.date_format(e["dissolved_date"], "MM/yyyy"),
        "participation_status": F.when(e["dissolved_date"].isNotNull(), "Dừng đóng").otherwise("Đang tham gia"),
    })
    return out


def k_health_insurance(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    bhxh = F.concat(F.lpad(F.pmod(p["birth_province"], F.lit(100)).cast("string"), 2, "0"),
                    F.lpad(permute(p["person_id"], 100_000_000, c.seed, "bhxh").cast("string"), 8, "0"))
    group = pick(pools.BENEFICIARY_GROUPS, c.n("group", len(pools.BENEFICIARY_GROUPS)))
    old_card = F.concat(group, (c.n("level", 5) + 1).cast("string"),
                        F.lpad(F.pmod(p["birth_province"], F.lit(100)).cast("string"), 2, "0"), bhxh)
    start = F.make_date(F.lit(2025) + c.n("year", 2).cast("int"), F.lit(1), F.lit(1))
    out.update({
        "card_number": F.when(c.u("card-form") < 0.4, old_card).otherwise(bhxh),
        "valid_from": c.date(start, "vf"),
        "valid_to": c.date(F.date_sub(F.add_months(start, 12), 1), "vt"),
        "hospital": F.concat_ws(" ", pick(pools.HOSPITALS, c.n("hosp", len(pools.HOSPITALS))), c.ward["district_name"]),
        "beneficiary_group": group,
        "email": F.concat(F.lower(F.regexp_replace(pick(pools.given_names("M").variants["ascii"], p["given_idx"]), " ", "")),
                          c.n("mail", 10000).cast("string"), F.lit("@gmail.com")),
    })
    return out


def k_personal_income_tax(c: Ctx) -> dict[str, Column]:
    p = c.person
    e = _employer(c)
    out = _person_fields(c, p)
    year = F.lit(2024) + c.n("year", 2).cast("int")
    income = _salary(c, e) * 12
    personal = F.concat(F.lit("80"), F.lpad(permute(p["person_id"], 100_000_000, c.seed, "pit").cast("string"), 8, "0"))
    out.update({
        # Since 1 July 2025 an individual's tax code is the 12-digit personal ID.
        "personal_tax_code": F.when(year >= 2025, p["cccd"]).otherwise(personal),
        "employer_tax_code": _tax_text(c, e["tax_code"]),
        "tax_year": year.cast("string"),
        "income": income.cast("long").cast("string"),
        "tax_paid": F.round((income - 132_000_000) * 0.1, -3).cast("long").cast("string"),
    })
    return out


def _firm_fields(c: Ctx, e: dict) -> dict[str, Column]:
    owner = c.others["owner"]
    addr = render.address_parts(c.ward, e["house_no"], e["street_idx"], c.seed, c.key, c.flags, "nfc")
    status = (F.when(e["dissolved_date"].isNotNull(), "Đã giải thể")
              .when(e["suspended"], "Tạm ngừng kinh doanh").otherwise("Đang hoạt động"))
    sections = {x["code"]: x["name"] for x in ref.vsic_sections()}
    sector_name = F.lit(None).cast("string")
    for code, name in sections.items():
        sector_name = F.when(e["sector"] == code, F.lit(name)).otherwise(sector_name)
    name = e["enterprise_name"]
    name = F.when(c.flags["name_upper"], F.upper(name)).otherwise(name)
    return {
        "tax_code": _tax_text(c, e["tax_code"]),
        "enterprise_name": name,
        "enterprise_name_ascii": e["enterprise_name_ascii"],
        "sector": e["sector"],
        "sector_name": sector_name,
        "founded_date": c.date(e["founded_date"], "founded"),
        "status": status,
        "dissolved_date": c.date(e["dissolved_date"], "dissolved"),
        "employees": e["employees"].cast("string"),
        "capital": e["capital"].cast("string"),
        "owner_name": _plain_name(c, owner),
        "owner_cccd": owner["cccd"],
        "owner_birth_date": c.date(owner["birth_date"], "owner-dob"),
        "address": addr["address"],
        "province": addr["province"],
        "phone": F.concat(F.lit("02"), F.lpad(c.n("firm-phone", 100_000_000).cast("string"), 9, "0")),
    }


def k_enterprise_registration(c: Ctx) -> dict[str, Column]:
    return _firm_fields(c, c.person)


def k_enterprise_tax(c: Ctx) -> dict[str, Column]:
    e = c.person
    period_i = c.n("period", 12)
    year, quarter = F.lit(2023) + (period_i / 4).cast("int"), F.pmod(period_i, F.lit(4)) + 1
    due = F.date_add(F.make_date(year, quarter * 3, F.lit(1)), 60)
    late = F.when(c.u("late") < e["risk"], c.n("late-days", 120)).otherwise(0)
    revenue = e["employees"] * F.lit(150_000_000.0) * (F.lit(1.2) - e["risk"]) * (c.u("rev") + 0.5)
    out = _firm_fields(c, e)
    out.update({
        "period": F.concat(F.lit("Q"), quarter.cast("string"), F.lit("/"), year.cast("string")),
        "revenue": F.round(revenue, -3).cast("long").cast("string"),
        "tax_due": F.round(revenue * 0.02, -3).cast("long").cast("string"),
        "filed_date": c.date(F.date_add(due, late.cast("int") - 20), "filed"),
        "late_days": late.cast("string"),
    })
    return out


def _owner_fields(c: Ctx) -> dict[str, Column]:
    """Facts owned by a citizen or, for a share of records, by an enterprise."""
    p = c.person
    out = _person_fields(c, p)
    firm = c.flags["_enterprise_owner"]
    e = c.others["owner_firm"]
    out.update({
        "owner_type": F.when(firm, "Tổ chức").otherwise("Cá nhân"),
        "full_name": F.when(firm, e["enterprise_name"]).otherwise(out["full_name"]),
        "birth_date": F.when(~firm, out["birth_date"]),
        "cccd": F.when(~firm, out["cccd"]),
        "owner_tax_code": F.when(firm, _tax_text(c, e["tax_code"])),
        "_owner_enterprise_id": F.when(firm, e["enterprise_id"]),
    })
    return out


def k_land_parcels(c: Ctx) -> dict[str, Column]:
    out = _owner_fields(c)
    out["birth_date"] = F.when(out["birth_date"].isNotNull(), F.year(c.person["birth_date"]).cast("string"))
    out.update({
        "parcel_sheet": (c.n("sheet", 80) + 1).cast("string"),
        "parcel_number": (c.n("parcel", 900) + 1).cast("string"),
        "area_m2": F.format_number(F.lit(40.0) + c.u("area") * c.u("area2") * 2000, 1),
        "land_use": pick(pools.LAND_USES, c.n("use", len(pools.LAND_USES))),
        "certificate_date": c.date(F.date_add(F.lit("1995-01-01").cast("date"), c.n("cert", 11000).cast("int")), "cert"),
    })
    return out


def k_vehicle_registration(c: Ctx) -> dict[str, Column]:
    out = _owner_fields(c)
    letters = list("ABCDEFGHKLMNPSTUVXYZ")
    plate = F.concat(F.lpad((c.n("plate-prov", 89) + 11).cast("string"), 2, "0"),
                     pick(letters, c.n("plate-l", len(letters))), F.lit("-"),
                     F.lpad(c.n("plate-a", 1000).cast("string"), 3, "0"), F.lit("."),
                     F.lpad(c.n("plate-b", 100).cast("string"), 2, "0"))
    out.update({
        "plate": plate,
        "vehicle_type": pick(pools.VEHICLE_TYPES, c.n("vtype", len(pools.VEHICLE_TYPES))),
        "brand": pick(pools.BRANDS, c.n("brand", len(pools.BRANDS))),
        "registration_date": c.date(F.date_add(F.lit("2005-01-01").cast("date"), c.n("reg", 7300).cast("int")), "reg"),
    })
    return out


def k_driving_licences(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    issued = F.greatest(F.add_months(p["birth_date"], 18 * 12), F.lit("2000-01-01").cast("date"))
    issued = F.least(F.date_add(issued, c.n("issued", 3000).cast("int")), F.lit(c.world.snapshot_date))
    cls = pick(pools.LICENCE_CLASSES, c.n("class", len(pools.LICENCE_CLASSES)))
    out.update({
        "licence_class": cls,
        "issue_date": c.date(issued, "issued"),
        "expiry_date": F.when(cls.isin("A1", "A2"), F.lit("Không thời hạn"))
        .otherwise(c.date(F.add_months(issued, 120), "expiry")),
        "licence_status": F.when(p["death_date"].isNotNull() & (c.u("stale") < 0.7), "Còn hiệu lực")
        .when(p["death_date"].isNotNull(), "Thu hồi").otherwise("Còn hiệu lực"),
    })
    return out


def k_education(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    age = p["age"]
    level = (F.when(age < 6, "Mầm non").when(age < 11, "Tiểu học").when(age < 15, "THCS")
             .when(age < 18, "THPT").when(c.u("college") < 0.3, "Cao đẳng").otherwise("Đại học"))
    guardian = c.others["guardian"]
    out.update({
        "school": F.concat(F.lit("Trường "), level, F.lit(" "), F.regexp_replace(c.ward["ward_name"], "^(Phường|Xã|Thị trấn) ", "")),
        "level": level,
        "school_year": F.lit("2025-2026"),
        "guardian_name": F.when(age < 18, _plain_name(c, guardian)),
        "phone": F.when(age < 18, guardian["phone_new"]).otherwise(out["phone"]),
    })
    return out


def k_health_vaccination(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    when = F.greatest(p["birth_date"], F.lit("2015-01-01").cast("date"))
    when = F.date_add(when, c.n("vdate", 3000).cast("int"))
    out.update({
        "vaccine": pick(pools.VACCINES, c.n("vaccine", len(pools.VACCINES))),
        "dose": (c.n("dose", 3) + 1).cast("string"),
        "vaccination_date": c.date(F.least(when, F.lit(c.world.batch_date(c.world.batch))), "vdate"),
        "facility": F.concat(F.lit("Trạm Y tế "), c.ward["ward_name"]),
        "province": F.coalesce(c.ward["new_province_name"], c.ward["province_name"]),
    })
    return out


def k_social_welfare(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    kind = F.when(p["age"] >= 75, "Người cao tuổi").otherwise(
        pick(pools.BENEFIT_TYPES[1:], c.n("benefit", len(pools.BENEFIT_TYPES) - 1)))
    dead = p["death_date"].isNotNull()
    out.update({
        "benefit_type": kind,
        "monthly_amount": ((c.n("amount", 8) + 4) * 100_000).cast("string"),
        "benefit_start": c.date(F.date_add(F.lit("2012-01-01").cast("date"), c.n("bstart", 4500).cast("int")), "bstart"),
        # Deaths reach the welfare office late: most deceased beneficiaries are still being paid.
        "benefit_status": F.when(dead & (c.u("stale") >= 0.75), "Dừng chi trả").otherwise("Đang chi trả"),
    })
    return out


def k_immigration(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p, passport=bool(c.gen.get("passport_names")))
    out.update({
        "passport_number": F.concat(pick(list("CBNP"), randint(c.seed, "pp-l", 4, p["person_id"])),
                                    F.lpad(permute(p["person_id"], 10_000_000, c.seed, "passport").cast("string"), 7, "0")),
        "crossing_date": c.date(F.date_add(F.lit("2023-01-01").cast("date"), c.n("cross", 1090).cast("int")), "cross"),
        "direction": F.when(c.u("dir") < 0.5, "EXIT").otherwise("ENTRY"),
        "border_gate": pick(pools.BORDER_GATES, c.n("gate", len(pools.BORDER_GATES))),
    })
    return out


def k_civil_servants(c: Ctx) -> dict[str, Column]:
    p = c.person
    out = _person_fields(c, p)
    out.update({
        "agency": F.concat_ws(" ", pick(pools.AGENCIES, c.n("agency", len(pools.AGENCIES))), c.ward["province_name"]),
        "position": pick(pools.POSITIONS, c.n("position", len(pools.POSITIONS))),
        "grade": pick(["01.003", "01.002", "01.004", "06.031", "13.095", "15.113"], c.n("grade", 6)),
        "hire_date": c.date(F.add_months(p["birth_date"], (22 * 12 + c.n("hire", 240)).cast("int")), "hire"),
    })
    return out


KINDS: dict[str, Callable[[Ctx], dict[str, Column]]] = {
    "population": k_population, "civil_status": k_civil_status, "id_card": k_id_card,
    "social_insurance": k_social_insurance, "health_insurance": k_health_insurance,
    "personal_income_tax": k_personal_income_tax, "enterprise_registration": k_enterprise_registration,
    "enterprise_tax": k_enterprise_tax, "land_parcels": k_land_parcels,
    "vehicle_registration": k_vehicle_registration, "driving_licences": k_driving_licences,
    "education": k_education, "health_vaccination": k_health_vaccination, "social_welfare": k_social_welfare,
    "immigration": k_immigration, "civil_servants": k_civil_servants,
}


# --- who a record is about ---------------------------------------------------------------------

def _population_filter(name: str | None, world: World, p: dict, e: dict | None) -> Column | None:
    if name is None:
        return None
    if name == "insured":
        return insured(world, p, e)
    if name == "taxed":
        size = F.when(e["employees"] > 50, 1.5).when(e["employees"] > 10, 1.2).otherwise(1.0)
        salary = F.lit(4_500_000.0) * F.exp(uniform(world.seed, "salary", p["person_id"]) * 1.6) * size
        return p["employed"] & (salary * 12 > 132_000_000)
    if name == "civil_servant":
        return p["employed"] & chance(world.seed, "civil-servant", 0.12, p["person_id"])
    if name == "welfare":
        return (p["age"] >= 75) | chance(world.seed, "welfare", 0.03, p["person_id"])
    raise ValueError(f"unknown generator.population_filter '{name}'")


def _firm_filter(name: str | None, world: World, e: dict, key: Column, spec: SourceSpec) -> Column | None:
    if name is None:
        return None
    if name == "filing":
        period_i = randint(world.seed, f"{spec.name}:period", 12, key)
        start = F.add_months(F.lit("2023-01-01").cast("date"), (period_i * 3).cast("int"))
        alive = e["dissolved_date"].isNull() | (e["dissolved_date"] > start)
        return alive & (e["founded_date"] < start) & (uniform(world.seed, f"{spec.name}:skip", key) > e["risk"] * 0.5)
    raise ValueError(f"unknown generator.firm_filter '{name}'")


def _rows(spark: SparkSession, world: World, n_base: int, partitions: int) -> DataFrame:
    """(r, op) for this batch: the snapshot, or inserts + updates + deletes of batch k."""
    if world.batch == 0:
        return spark.range(0, n_base, numPartitions=partitions).select(F.col("id").alias("r"), F.lit("I").alias("op"))
    k, rates = world.batch, world.rates
    n_ins = max(1, math.ceil(n_base * rates.get("insert_rate", 0.0)))
    existing = n_base + (k - 1) * n_ins
    ins = spark.range(existing, existing + n_ins, numPartitions=1).select(F.col("id").alias("r"), F.lit("I").alias("op"))
    parts = [ins]
    for op, rate in (("U", rates.get("update_rate", 0.0)), ("D", rates.get("delete_rate", 0.0))):
        n = max(1, math.ceil(n_base * rate))
        parts.append(spark.range(0, n, numPartitions=1).select(
            randint(world.seed, f"batch-{op}", existing, F.col("id"), F.lit(k)).alias("r"), F.lit(op).alias("op")))
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def _nest(columns: dict[str, Column]) -> list[Column]:
    """Flat {'a.b': col} -> struct columns, keeping the declared order."""
    top: dict[str, list] = {}
    for name, col in columns.items():
        head, _, leaf = name.partition(".")
        top.setdefault(head, []).append((leaf, col))
    out = []
    for head, leaves in top.items():
        if len(leaves) == 1 and leaves[0][0] == "":
            out.append(leaves[0][1].alias(head))
        else:
            out.append(F.struct(*[c.alias(leaf) for leaf, c in leaves]).alias(head))
    return out


def declared_columns(spec: SourceSpec, batch: int) -> dict[str, str]:
    """canonical -> source column for this batch, with the source's schema change applied."""
    cols = dict(spec.columns)
    change = spec.generator.get("schema_change") or {}
    if change and batch >= int(change.get("from_batch", 1)):
        added = dict(change.get("add") or {})
        items = list(cols.items())
        cols = dict(items[:2] + list(added.items()) + items[2:])  # new columns arrive mid-row
    return cols


# Related entities a kind needs, besides the record's own: role -> (entity type, id expression).
def _related(kind: str, spec: SourceSpec, world: World, ent: dict, key: Column) -> dict[str, tuple[str, Column]]:
    gen = spec.generator
    out: dict[str, tuple[str, Column]] = {}
    if gen.get("population_filter") in ("insured", "taxed") or kind in ("social_insurance", "personal_income_tax"):
        out["employer"] = ("enterprise", F.coalesce(ent["employer_id"], F.lit(0)))
    if kind == "civil_status":
        hh = ent["household_id"] * 4
        out["father"] = ("person", hh)
        out["mother"] = ("person", hh + 1)
        out["spouse"] = ("person", F.when(ent["household_role"] == 0, hh + 1).otherwise(hh))
    if kind == "education":
        out["guardian"] = ("person", ent["household_id"] * 4)
    if kind in ("enterprise_registration", "enterprise_tax"):
        out["owner"] = ("person", ent["owner_id"])
    if float(gen.get("enterprise_owner_share", 0.0)) > 0:
        out["owner_firm"] = ("enterprise", randint(world.seed, f"{spec.name}:owner-firm", world.enterprises, key))
    return out


def _with_entities(df: DataFrame, world: World, spec: SourceSpec, entity_id: Column, key: Column,
                   kind: str) -> tuple[DataFrame, dict, dict]:
    """Stage the record's entity and its related entities as columns; returns (df, entity, related)."""
    if spec.entity == "enterprise":
        df, ent = with_enterprise(df, world, entity_id, "p_")
    else:
        df, ent = with_citizen(df, world, entity_id, "p_")
    others = {}
    for role, (etype, id_expr) in _related(kind, spec, world, ent, key).items():
        add = with_enterprise if etype == "enterprise" else with_citizen
        df, others[role] = add(df, world, id_expr, f"{role}_")
    return df, ent, others


def _keep(spec: SourceSpec, world: World, ent: dict, others: dict, key: Column) -> Column | None:
    gen = spec.generator
    if spec.entity == "enterprise":
        return _firm_filter(gen.get("firm_filter"), world, ent, key, spec)
    keep = _population_filter(gen.get("population_filter"), world, ent, others.get("employer"))
    for bound in ("min_age", "max_age"):
        if gen.get(bound) is not None:
            cond = ent["age"] >= int(gen[bound]) if bound == "min_age" else ent["age"] <= int(gen[bound])
            keep = cond if keep is None else keep & cond
    return keep


def _entity_of(spec: SourceSpec, world: World, n_cand: int, e: Column) -> Column:
    coverage = spec.generator.get("coverage", "unique")
    size = world.enterprises if spec.entity == "enterprise" else world.citizens
    if coverage == "all":
        return e if n_cand <= size else F.pmod(e, F.lit(size))
    if coverage == "unique" and n_cand <= size:
        return permute(e, size, world.seed, spec.name)
    return randint(world.seed, f"{spec.name}:who", size, e)


def build_source(spark: SparkSession, world: World, spec: SourceSpec, rates: dict, n_base: int,
                 rows_per_file: int) -> DataFrame:
    """The records source `spec` delivers in `world.batch`: its own columns (nested where declared)
    plus hidden `_truth_*` columns."""
    gen = spec.generator
    kind_name = gen.get("kind", spec.name)
    kind = KINDS.get(kind_name)
    if kind is None:
        raise ValueError(f"conf/sources/{spec.name}.yaml: generator.kind '{kind_name}' is unknown; "
                         f"known kinds: {sorted(KINDS)}")
    seed, name = world.seed, spec.name
    accept = _accept_rate(spark, world, spec, kind_name) if _has_filter(gen) else 1.0
    n_cand = int(math.ceil(n_base / max(accept, 1e-3)))
    partitions = max(1, math.ceil(n_base / rows_per_file)) if world.batch == 0 else 1
    rows = _rows(spark, world, n_cand, partitions)
    r = F.col("r")
    first = world.batch == 0
    exact = chance(seed, f"{name}:fault:exact_duplicate", float(rates["exact_duplicate"]), r) & (r > 0) & F.lit(first)
    v = F.when(exact, F.greatest(r - 1 - randint(seed, f"{name}:dup", 8, r), F.lit(0))).otherwise(r)
    df = rows.select("r", "op", v.alias("v"), exact.alias("_exact"))
    v = F.col("v")
    near = chance(seed, f"{name}:fault:near_duplicate", float(rates["near_duplicate"]), v) & (v > 0) \
        & ~F.col("_exact") & F.lit(first)
    df = df.select("*", near.alias("_near"))
    e_row = F.when(F.col("_near"), F.greatest(v - 1 - randint(seed, f"{name}:near", 50, v), F.lit(0))).otherwise(v)
    df = df.select("*", _entity_of(spec, world, n_cand, e_row).alias("_entity"))

    df, ent, others = _with_entities(df, world, spec, F.col("_entity"), v, kind_name)
    keep = _keep(spec, world, ent, others, v)
    if keep is not None:
        df = df.where(keep)
    wards = _ward_frame(spark)
    df = df.join(F.broadcast(wards), df["p_ward_idx"] == wards["ward_idx"], "left")
    ward = {c: F.col(c) for c in wards.columns}

    flags = fault_flags(world, spec, rates, v, bool(gen.get("id_as_number")))
    flags["_enterprise_owner"] = chance(seed, f"{name}:firm-owner", float(gen.get("enterprise_owner_share", 0.0)), v)
    df = df.select("*", *[c.alias(f"f_{k}") for k, c in flags.items()])
    flags = {k: F.col(f"f_{k}") for k in flags}
    if spec.entity == "person":
        variant = F.lit("ascii") if gen.get("passport_names") else flags["name_variant"]
        tokens = render.name_tokens(variant, ent["female"], ent["surname_idx"], ent["middle_idx"],
                                    ent["given_idx"], gen.get("legacy_text") is not None)
        df = df.select("*", *[t.alias(f"t_{i}") for i, t in enumerate(tokens)])
    ctx = Ctx(world, spec, v, ent, ward, flags, gen, others)
    fields = kind(ctx)
    entity_id = F.col("_entity")
    entity_type = F.lit(spec.entity)
    if "_owner_enterprise_id" in fields:
        entity_id = F.when(flags["_enterprise_owner"], fields["_owner_enterprise_id"]).otherwise(entity_id)
        entity_type = F.when(flags["_enterprise_owner"], F.lit("enterprise")).otherwise(F.lit("person"))

    cols = declared_columns(spec, world.batch)
    missing = [c for c in cols if c not in fields and c != "record_key"]
    if missing:
        raise ValueError(f"conf/sources/{name}.yaml: columns {missing} are not produced by generator kind "
                         f"'{kind_name}'")
    is_delete = F.col("op") == "D"
    key_col = F.col("r") if spec.is_database else F.concat(F.lit(gen.get("key_prefix", name[:2].upper())),
                                                           F.lpad(v.cast("string"), 10, "0"))
    malformed = flags["malformed"]
    out: dict[str, Column] = {}
    for canonical, source_col in cols.items():
        if canonical == "record_key":
            out[source_col] = key_col
            continue
        value = fields[canonical]
        if canonical in ("full_name", "birth_date") and spec.format in ("xml", "parquet", "jdbc"):
            value = F.when(malformed, F.lit("##/##/####" if canonical == "birth_date" else "")).otherwise(value)
        value = value.cast("string")
        if gen.get("legacy_text"):
            value = render.windows1258_form(value)
        out[source_col] = F.when(is_delete, F.lit(None).cast("string")).otherwise(value)
    out[spec.op] = F.col("op")
    out[spec.updated_at] = _updated_at(world, v, name)

    applicable = [f for f in rates if f not in ("near_duplicate", "exact_duplicate", "date_format")
                  and (FAULT_FIELD.get(f) is None or FAULT_FIELD[f] in cols)]
    fault_list = F.filter(F.array(*[F.when(flags[f], F.lit(f)) for f in applicable]
                                  + [F.when(F.col("_near"), F.lit("near_duplicate")),
                                     F.when(F.col("_exact"), F.lit("exact_duplicate"))]),
                          lambda x: x.isNotNull())
    truth = {
        f"{TRUTH_PREFIX}record_key": key_col.cast("string"),
        f"{TRUTH_PREFIX}entity_type": entity_type,
        f"{TRUTH_PREFIX}entity_id": entity_id.cast("long"),
        f"{TRUTH_PREFIX}op": F.col("op"),
        f"{TRUTH_PREFIX}faults": F.when(is_delete, F.array().cast("array<string>")).otherwise(fault_list),
    }
    return df.select(*_nest(out), *[c.alias(k) for k, c in truth.items()])


def _updated_at(world: World, v: Column, name: str) -> Column:
    if world.batch == 0:
        start, span = F.lit(world.snapshot_date).cast("timestamp"), 365 * 86400
        offset = -randint(world.seed, f"{name}:ts", span, v)
    else:
        start, span = F.lit(world.batch_start(world.batch)).cast("timestamp"), world.batch_days * 86400
        offset = randint(world.seed, f"{name}:ts", span, v, F.lit(world.batch))
    ts = F.timestamp_seconds(F.unix_timestamp(start) + offset)
    return F.date_format(ts, "yyyy-MM-dd HH:mm:ss")


def _ward_frame(spark: SparkSession) -> DataFrame:
    from pyspark.sql.types import (
        BooleanType,
        IntegerType,
        StringType,
        StructField,
        StructType,
    )

    geo = pools.geography()
    fields = [("ward_idx", IntegerType())] + [(k, StringType()) for k in (
        "ward_code", "ward_name", "district_code", "district_name", "province_code", "province_name",
        "new_ward_code", "new_ward_name", "new_province_code", "new_province_name")] + [("ward_split", BooleanType())]
    schema = StructType([StructField(n, t) for n, t in fields])
    import pyarrow as pa

    # Through Arrow the table becomes a JVM-side relation: no Python worker at query time.
    table = pa.Table.from_pylist([{n: w[n] for n, _ in fields} for w in geo.wards])
    return spark.createDataFrame(table.to_pandas(), schema)


def _has_filter(gen: dict) -> bool:
    return any(gen.get(k) is not None for k in ("population_filter", "firm_filter", "min_age", "max_age"))


def _accept_rate(spark: SparkSession, world: World, spec: SourceSpec, kind: str, sample: int = 20_000) -> float:
    """Share of candidate rows a filtered source keeps, measured on a fixed sample so that the
    source still delivers about its declared number of records."""
    size = world.enterprises if spec.entity == "enterprise" else world.citizens
    n = min(sample, size)
    df = spark.range(0, n, numPartitions=2)
    entity = _entity_of(spec, world, n, F.col("id"))
    df, ent, others = _with_entities(df, world, spec, entity, F.col("id"), kind)
    keep = _keep(spec, world, ent, others, F.col("id"))
    kept = df.where(keep).count() if keep is not None else n
    return max(kept / n, 1.0 / n)
