"""Per-entity preparation: a silver identity frame -> ``uid``, ``anchor`` (the validated
identifier, or null) and the compared / blocking columns the rest of the resolver reads.

People: docs/domain.md#citizen-identity-card-cccd (the anchor), #cccd-cross-checks (unverified
identifiers kept as evidence), #old-identity-card-cmnd, #phone-numbers,
#administrative-units-the-2025-reform (split wards: ``ward_candidates``). Enterprises:
docs/domain.md#tax-code-mst, #tax-code-check-digit.
"""

from __future__ import annotations

from typing import Any, Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

UID_SEP = "|"


def _blank(c: Column) -> Column:
    c = F.trim(F.regexp_replace(c.cast("string"), r"\s+", " "))
    return F.when(c != "", c)


def _opt(df: DataFrame, name: str) -> Column:
    return F.col(name) if name in df.columns else F.lit(None).cast("string")


def _uid(df: DataFrame) -> Column:
    return F.concat_ws(UID_SEP, F.col("source").cast("string"), F.col("record_key").cast("string"))


def _checked_id(df: DataFrame, col: str, reason_col: str, n_digits: int, s: Mapping[str, Any]) -> tuple[Column, Column]:
    """(verified, unverified) forms of an identifier column. Silver may keep a well-formed ID that
    failed a cross-check (``<reason_col>``, e.g. the CCCD's birth year disagrees with the record):
    such an ID is no anchor, but it is still strong *evidence* in the probabilistic step. Without a
    reason column the input contract holds: the column is valid or null."""
    raw = _blank(_opt(df, col))
    raw = F.when(raw.rlike(rf"^\d{{{n_digits}}}$"), raw)
    if reason_col not in df.columns:
        return raw, F.lit(None).cast("string")
    reason = F.lower(_blank(F.col(reason_col)))
    allowed = [str(r).lower() for r in s.get("unverified_id_reasons", [])] or ["-"]
    return F.when(reason.isNull(), raw), F.when(reason.isin(*allowed), raw)


def _prepare_people(df: DataFrame, s: Mapping[str, Any]) -> DataFrame:
    """PERSON_IDENTITY -> uid, anchor (valid CCCD) and the compared / blocking columns."""
    name = F.upper(_blank(_opt(df, "name_folded")))
    tokens = F.split(name, " ")
    bd = _opt(df, "birth_date").cast("date")
    prec = F.lower(_blank(_opt(df, "birth_date_precision")))
    cccd, unverified = _checked_id(df, "cccd", "cccd_reason", 12, s)
    cmnd = F.when(_blank(_opt(df, "cmnd")).rlike(r"^(\d{9}|\d{12})$"), _blank(_opt(df, "cmnd")))
    phone = F.when(_blank(_opt(df, "phone")).rlike(r"^\d{10}$"), _blank(_opt(df, "phone")))
    ward = _blank(_opt(df, "ward_code"))
    wards = F.when(ward.isNotNull(), F.array(ward))
    if "ward_candidates" in df.columns:  # a split old ward: every new ward it may now be in
        cands = F.col("ward_candidates").cast("array<string>")
        wards = F.coalesce(wards, F.when(F.size(cands) > 0, cands))
    return df.select(
        F.col("source").cast("string").alias("source"),
        F.col("record_key").cast("string").alias("record_key"),
        _uid(df).alias("uid"),
        cccd.alias("anchor"),
        name.alias("name_folded"),
        F.when(name.isNotNull(), F.array_join(F.array_sort(tokens), " ")).alias("name_sorted"),
        F.when(name.isNotNull(), F.element_at(tokens, -1)).alias("given_name"),
        F.when(F.size(tokens) >= 2, F.concat_ws(" ", F.element_at(tokens, 1), F.element_at(tokens, -1)))
        .alias("name_fl"),
        bd.alias("birth_date"),
        F.when(bd.isNotNull(), F.coalesce(F.when(prec.isin("day", "month", "year"), prec), F.lit("day")))
        .alias("birth_date_precision"),
        F.year(bd).alias("birth_year"),
        F.when(prec.isNull() | (prec == "day"), F.date_format(bd, "MM-dd")).alias("birth_md"),
        F.upper(_blank(_opt(df, "sex"))).alias("sex"),
        cccd.alias("cccd"),
        F.coalesce(cccd, unverified).alias("cccd_key"),
        cmnd.alias("cmnd"),
        F.coalesce(F.substring(F.coalesce(cccd, unverified), 4, 9), F.when(F.length(cmnd) == 9, cmnd),
                   F.substring(cmnd, 4, 9)).alias("id_tail"),
        phone.alias("phone"),
        _blank(_opt(df, "province_code")).alias("province_code"),
        ward.alias("ward_code"),
        wards.alias("wards"),
    )


_LEGAL_FORMS = (r"\b(CONG TY|CTY|TNHH|TRACH NHIEM HUU HAN|CO PHAN|CP|MTV|MOT THANH VIEN|"
                r"HAI THANH VIEN TRO LEN|DOANH NGHIEP TU NHAN|DNTN|HOP TAC XA|HTX|CHI NHANH|TAP DOAN)\b")


def _prepare_enterprises(df: DataFrame, s: Mapping[str, Any]) -> DataFrame:
    name = F.upper(_blank(_opt(df, "name_folded")))
    core = _blank(F.regexp_replace(name, _LEGAL_FORMS, " "))
    tax, unverified = _checked_id(df, "tax_code", "tax_code_reason", 10, s)
    addr = _blank(F.upper(F.regexp_replace(_opt(df, "address_text"), r"[^\p{L}\p{N}]+", " ")))
    owner_cccd = _blank(_opt(df, "owner_cccd"))
    return df.select(
        F.col("source").cast("string").alias("source"),
        F.col("record_key").cast("string").alias("record_key"),
        _uid(df).alias("uid"),
        tax.alias("anchor"),
        F.coalesce(tax, unverified).alias("tax_key"),
        F.substring(F.coalesce(tax, unverified), 1, 9).alias("tax9"),
        name.alias("name_folded"),
        core.alias("name_core"),
        _blank(_opt(df, "province_code")).alias("province_code"),
        addr.alias("address_key"),
        F.upper(_blank(_opt(df, "owner_name_folded"))).alias("owner_name_folded"),
        F.when(owner_cccd.rlike(r"^\d{12}$"), owner_cccd).alias("owner_cccd"),
        F.when(_blank(_opt(df, "phone")).rlike(r"^\d{9,11}$"), _blank(_opt(df, "phone"))).alias("phone"),
    )
