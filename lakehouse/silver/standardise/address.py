"""Addresses: abbreviation expansion, administrative-unit matching keys and the mapping of an
address (free text or split columns) to the post-2025 two-level units
(docs/domain.md#address-abbreviations, #administrative-units-the-2025-reform).
"""

from __future__ import annotations

import re
from functools import lru_cache

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import reference
from lakehouse.silver.standardise._expr import ColumnOrName, _col
from lakehouse.silver.standardise.text import (
    _COMBINING,
    _fold_chars,
    _mojibake_tables,
    _squeeze,
    repair_mojibake,
)

_HCM = "Thành phố Hồ Chí Minh"
_BOUND = r"(?<![\p{L}\p{M}\d])"


@lru_cache(maxsize=None)
def _address_rules() -> tuple[tuple[str, str], ...]:
    """(Java regex, replacement) pairs of :func:`expand_address_abbreviations`, applied in order.

    Each pattern starts with a look-ahead for its possible first letters: Java tries a pattern at
    every position, and a leading look-behind over Unicode classes at every position of every
    address part was the main cost of address standardisation."""
    return (
        (rf"(?i)(?=[TSH]){_BOUND}(?:TP\.?\s*H[ồo]\s*Ch[íi]\s*Minh|TP\.?\s*HCM|S[àa]i\s*G[òo]n|HCM)(?![\p{{L}}\d])",
         _HCM),
        (rf"(?i)(?=T){_BOUND}Thành phố Thành phố ", "Thành phố "),
        (rf"(?=[PF]){_BOUND}[PF]\.?\s*(\d{{1,2}})(?!\d)", "Phường $1"),
        (rf"(?=Q){_BOUND}Q\.?\s*(\d{{1,2}})(?!\d)", "Quận $1"),
        (rf"(?=T){_BOUND}TX\.\s*", "Thị xã "),
        (rf"(?=T){_BOUND}TT\.\s*", "Thị trấn "),
        (rf"(?=T){_BOUND}TP\.\s*", "Thành phố "),
        (rf"(?=[PF]){_BOUND}[PF]\.\s*", "Phường "),
        (rf"(?=Q){_BOUND}Q\.\s*", "Quận "),
        (rf"(?=H){_BOUND}H\.\s*", "Huyện "),
        (rf"(?=X){_BOUND}X\.\s*", "Xã "),
    )


#: Internal markers (Unicode noncharacters): the replacement words of the abbreviation rules are
#: appended to a value after ``_DICT`` (separated by ``_WORD``) so that ONE regex pass can copy
#: each rule's replacement from there with a capturing look-ahead (see :func:`_merged_rules`).
_DICT = "\ufdd1"
_WORD = "\ufdd2"


def _scoped(pattern: str) -> str:
    """A rule pattern as a group whose leading inline flags apply to it only."""
    return f"(?i:{pattern[4:]})" if pattern.startswith("(?i)") else f"(?:{pattern})"


@lru_cache(maxsize=None)
def _merged_rules() -> tuple[str, str, str]:
    """(regex, replacement, suffix): rules 2..11 of :func:`_address_rules` as ONE regex pass.

    Each rule becomes an alternative followed by a look-ahead that captures its replacement word
    from the suffix (``_DICT`` + words joined by ``_WORD``, appended to the value; the look-ahead
    finds the LAST ``_DICT``, so input containing the marker is still safe). Groups that did not
    take part in a match append nothing, so the replacement is every group in order. Same result
    as applying the rules one after the other: no rule matches text another rule produced (none
    matches inside the replacement words; rule 2 only collapses "Thành phố Thành phố ", which the
    later rules cannot produce before it runs) and matches never overlap, so leftmost-first
    alternation picks the same matches. Rule 1 (-> "Thành phố Hồ Chí Minh") stays a separate pass
    before: rule 2 must see its output. None of the rules can match in or across the suffix (its
    characters are neither letters, digits nor spaces); a last alternative deletes it.
    """
    rules = _address_rules()[1:]
    words: list[str] = []
    alts, refs, group = [], [], 0
    dict_rx, word_rx = f"\\x{{{ord(_DICT):X}}}", f"\\x{{{ord(_WORD):X}}}"
    for pattern, repl in rules:
        word = repl.removesuffix("$1")
        if "$" in word or _DICT in word or _WORD in word:
            raise ValueError(f"address rule {pattern!r}: replacement {repl!r} holds '$' or an internal marker")
        if word not in words:
            words.append(word)
        own = len(re.findall(r"(?<!\\)\((?!\?)", pattern))
        if own != (1 if repl.endswith("$1") else 0):
            raise ValueError(f"address rule {pattern!r}: {own} capturing group(s) for replacement {repl!r}")
        look = f"(?=(?s:.*){dict_rx}(?:[^{word_rx}]*+{word_rx}){{{words.index(word)}}}([^{word_rx}]*+))"
        alts.append(f"{_scoped(pattern)}{look}")
        num = f"${group + 1}" if own else ""
        group += own + 1
        refs.append(f"${group}{num}")
    # the suffix itself (from the last marker on) is replaced by nothing: no group takes part
    alts.append(f"{dict_rx}(?!(?s:.*){dict_rx})(?s:.*)")
    first = "PFQTtHX" + _DICT
    return f"(?=[{first}])(?:{'|'.join(alts)})", "".join(refs), _DICT + _WORD.join(words)


def _expand_rules(s: Column) -> Column:
    """The rules of :func:`_address_rules` on a cleaned value, in two regex passes (the second
    also removes the suffix it appends)."""
    rx, repl, suffix = _merged_rules()
    first_rx, first_repl = _address_rules()[0]
    return F.regexp_replace(F.concat(F.regexp_replace(s, first_rx, first_repl), F.lit(suffix)), rx, repl)


@lru_cache(maxsize=None)
def _clean_gate() -> str:
    """Regex of the values :func:`_clean_text` changes beyond trimming: a mojibake telltale, a
    combining mark, a whitespace run or a non-space whitespace character."""
    return f"{_mojibake_tables()[2]}|{_COMBINING}|[\\s\u00a0]{{2}}|[\\t\\n\\x0B\\f\\r\u00a0]"


def _expand_core(col: ColumnOrName) -> Column:
    """:func:`expand_address_abbreviations` except that a blank value gives '' (not null). One
    regex test spots the (rare) values that need more cleaning than trimming."""
    s = _col(col).cast("string")
    return _expand_rules(F.when(s.rlike(_clean_gate()), _squeeze(repair_mojibake(s))).otherwise(F.trim(s)))


def expand_address_abbreviations(col: ColumnOrName) -> Column:
    """Expand abbreviations in free-text addresses (docs/domain.md#address-abbreviations).

    "TP.HCM" / "TPHCM" / "TP. Hồ Chí Minh" / "Sài Gòn" / "HCM" -> "Thành phố Hồ Chí Minh";
    "P." / "F." -> "Phường ", "Q." -> "Quận ", "TX." -> "Thị xã ", "TT." -> "Thị trấn ",
    "H." -> "Huyện ", "TP." -> "Thành phố ", "X." -> "Xã "; "P1"/"F.1"/"Q3" -> "Phường 1"/"Quận 3".
    Also repairs mojibake, composes NFC and collapses spaces.
    """
    return F.nullif(_expand_core(col), F.lit(""))


_UNIT_TYPES = r"^(TINH|THANH PHO|THI XA|THI TRAN|QUAN|HUYEN|PHUONG|XA|DAC KHU) "
_PROVINCE_ALIASES = {"HUE": "46"}  # old "Tỉnh Thừa Thiên Huế" is often written "Huế"


@lru_cache(maxsize=None)
def _expand_gate() -> str:
    """Regex matching (at least) every value :func:`expand_address_abbreviations` changes beyond
    trimming: the :func:`_clean_gate`, or text without which no rule of :func:`_address_rules`
    can match ("TP" + "H", "HCM", "Sài Gòn", "Thành phố Thành phố ", a letter P/F/Q/H/X + ".",
    "TX."/"TT."/"TP.", P/F/Q + a number). A superset is enough (the expansion runs on matches)
    and much cheaper than the rules' own patterns. No look-around: a match in a comma-separated
    part of a text is a match in the text (see :func:`standardise_address`)."""
    rules = r"(?=[PFQHXTtSsh])(?:[PFQHX]\.|T[XTP]\.|[PFQ]\s*\d|(?i:TP\.?\s*H|HCM|S[àa]i\s*G[òo]n|Thành phố Thành phố ))"
    return f"{_clean_gate()}|{rules}"


def _key_of(e: Column) -> Column:
    """The key of an expanded unit name: folded, runs of anything but A-Z/0-9 -> one space,
    trimmed, leading unit type and leading zeros of numbers removed (one pass each)."""
    k = F.trim(F.regexp_replace(_fold_chars(e), "[^A-Z0-9]+", " "))
    # = the type removal then (?<![0-9])0+(?=[0-9]) -> '': the removed type ends with a space
    k = F.regexp_replace(k, _UNIT_TYPES + "|0(?<![0-9]0)0*(?=[0-9])", "")
    return F.nullif(F.trim(k), F.lit(""))


def _unit_key_gated(s: Column, expand: Column) -> Column:
    return _key_of(F.when(expand, _expand_core(s)).otherwise(s))


def unit_key(col: ColumnOrName) -> Column:
    """Matching key of an administrative unit name: abbreviations expanded, folded, unit type
    removed, numbers without leading zeros ("Phường 01" -> "1", "Tỉnh Hoà Bình" -> "HOA BINH").

    Values that need no cleaning and contain no abbreviation (one regex test) skip the expansion,
    which would leave them unchanged (the key ignores surrounding spaces)."""
    s = _col(col).cast("string")
    return _unit_key_gated(s, s.rlike(_expand_gate()))


@lru_cache(maxsize=8)
def admin_units_frame(spark: SparkSession) -> DataFrame:
    """Old ward -> new ward(s) reference, one row per old ward (10,056 rows), with match keys.

    Built from ``old_units.csv``, ``province_old_to_new.csv`` and ``ward_old_to_new.csv``
    (docs/domain.md#administrative-units-the-2025-reform). Columns: old_province_code,
    old_province_name, old_district_code, old_district_name, old_ward_code, old_ward_name,
    new_province_code, new_ward_codes (array; several for the 441 split wards, empty for the 28
    unmapped ones), province_key, district_key, ward_key (see :func:`unit_key`).
    """
    p_map = reference.province_old_to_new()
    wmap: dict[str, list[str]] = {}
    for r in reference.ward_old_to_new():
        wmap.setdefault(r["old_ward_code"], []).append(r["new_ward_code"])
    rows = [(u["province_code"], u["province_name"], u["district_code"], u["district_name"],
             u["ward_code"] or None, u["ward_name"] or None, p_map[u["province_code"]],
             sorted(set(wmap.get(u["ward_code"], [])))) for u in reference.old_units()]
    df = spark.createDataFrame(rows, "old_province_code string, old_province_name string, "
                               "old_district_code string, old_district_name string, old_ward_code string, "
                               "old_ward_name string, new_province_code string, new_ward_codes array<string>")
    return df.select("*", unit_key("old_province_name").alias("province_key"),
                     unit_key("old_district_name").alias("district_key"),
                     unit_key("old_ward_name").alias("ward_key"))


@lru_cache(maxsize=8)
def new_units_frame(spark: SparkSession) -> DataFrame:
    """The 3,321 post-2025 wards (``new_units.csv``) with province_key and ward_key."""
    rows = [(u["province_code"], u["province_name"], u["ward_code"], u["ward_name"])
            for u in reference.new_units()]
    df = spark.createDataFrame(rows, "province_code string, province_name string, ward_code string, ward_name string")
    return df.select("*", unit_key("province_name").alias("province_key"),
                     unit_key("ward_name").alias("ward_key"))


_DISTRICT_TYPES = "Quận|Huyện|Thị xã|Thành phố"
_WARD_TYPES = "Phường|Xã|Thị trấn|Đặc khu"


def _last_typed_part(types: str) -> str:
    """Regex whose group 1 is the LAST comma-separated part (trimmed of spaces) that starts with
    one of ``types`` (ASCII case-insensitive) and a space, among the parts followed by a comma."""
    return f"(?s)^(?:.*,)? *((?i:{types}) [^,]*[^ ,]) *,"


def _split_address(t: Column) -> tuple[Column, Column, Column, Column, Column]:
    """(typed ward, district, province, untyped-ward-if-no-district, untyped-ward-if-district)
    text from an expanded free-text address ``t`` (a column: it is used several times), with
    string functions instead of an array of parts and higher-order functions.

    The parts are the comma-separated pieces, trimmed. The last part is the province; the last
    part but one typed Quận/Huyện/Thị xã/Thành phố is the district, the last one typed
    Phường/Xã/Thị trấn/Đặc khu the ward (a single part counts for both); otherwise the ward is the
    part before the district (or before the province)."""
    one_part = ~t.contains(",")
    x = F.when(one_part, F.concat(t, F.lit(","))).otherwise(t)
    district = F.nullif(F.regexp_extract(x, _last_typed_part(_DISTRICT_TYPES), 1), F.lit(""))
    typed_ward = F.nullif(F.regexp_extract(x, _last_typed_part(_WARD_TYPES), 1), F.lit(""))
    province = F.when(~one_part, F.trim(F.substring_index(t, ",", -1)))
    commas = F.length(t) - F.length(F.replace(t, F.lit(","), F.lit("")))

    def part_from_end(i: int) -> Column:
        return F.trim(F.substring_index(F.substring_index(t, ",", -i), ",", 1))

    untyped_no_d = F.when(commas >= 1, part_from_end(2))
    untyped_d = F.when(commas >= 2, part_from_end(3))
    return typed_ward, district, province, untyped_no_d, untyped_d


@lru_cache(maxsize=8)
def _address_lookups(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    """Two small keyed lookup frames for :func:`standardise_address`, computed once and cached.

    * provinces by key ``_pk``: ``_opc`` (old code), ``_npc_old`` (its new code), ``_npc`` (a new
      province of that name);
    * wards by (``_pk``, ``_wk``): ``_old`` = the old wards of that name in the old province
      (n, code, sorted distinct new codes, name of the single new code), ``_by_dk`` = the same per
      district key, ``_nc`` = the new wards of that name in the new province (sorted) and
      ``_nn`` their name when there is one.

    The candidate lists are aggregated here, once, so that rows need only two hash joins and a
    small map lookup (no arrays of structs and no higher-order functions per row).
    """
    old = admin_units_frame(spark)
    new = new_units_frame(spark)
    names = new.select(F.col("ward_code").alias("_one"), F.col("ward_name").alias("name"))
    old_prov = old.select(F.col("province_key").alias("_pk"), F.col("old_province_code").alias("_opc"),
                          F.col("new_province_code").alias("_npc_old")).distinct()
    alias_rows = [(k, c, reference.province_old_to_new()[c]) for k, c in _PROVINCE_ALIASES.items()]
    # distinct: the alias may repeat a key the data already has
    old_prov = old_prov.unionByName(spark.createDataFrame(alias_rows, "_pk string, _opc string, _npc_old string")) \
        .distinct()
    new_prov = new.select(F.col("province_key").alias("_pk"), F.col("province_code").alias("_npc")).distinct()
    prov = old_prov.join(new_prov, "_pk", "full").where(F.col("_pk").isNotNull()).cache()
    dup = prov.groupBy("_pk").count().where("count > 1").collect()
    if dup:
        raise ValueError(f"province keys naming several provinces: {dup}")

    def candidates(keys: list[str]) -> DataFrame:
        agg = (old.where(F.col("ward_key").isNotNull())
               .select(F.col("old_province_code").alias("_opc"), F.col("ward_key").alias("_wk"),
                       F.col("district_key").alias("_dk"), "old_ward_code", "new_ward_codes")
               .groupBy(*keys)
               .agg(F.count("*").alias("n"), F.min("old_ward_code").alias("code"),
                    F.array_sort(F.array_distinct(F.flatten(F.collect_list("new_ward_codes")))).alias("codes")))
        agg = agg.withColumn("_one", F.when(F.size("codes") == 1, F.col("codes")[0]))
        return agg.join(names, "_one", "left").drop("_one")

    fields = ["n", "code", "codes", "name"]
    all_old = candidates(["_opc", "_wk"]).select("_opc", "_wk", F.struct(*fields).alias("_old"))
    by_dk = (candidates(["_opc", "_wk", "_dk"]).where(F.col("_dk").isNotNull())
             .groupBy("_opc", "_wk")
             .agg(F.map_from_entries(F.collect_list(F.struct("_dk", F.struct(*fields)))).alias("_by_dk")))
    old_side = (prov.where(F.col("_opc").isNotNull()).select("_pk", "_opc")
                .join(all_old, "_opc").join(by_dk, ["_opc", "_wk"], "left").drop("_opc"))
    new_wards = (new.groupBy(F.col("province_code").alias("_npc"), F.col("ward_key").alias("_wk"))
                 .agg(F.sort_array(F.collect_set("ward_code")).alias("_nc")))
    new_wards = (new_wards.withColumn("_one", F.when(F.size("_nc") == 1, F.col("_nc")[0]))
                 .join(names.withColumnRenamed("name", "_nn"), "_one", "left").drop("_one"))
    new_side = prov.where(F.col("_npc").isNotNull()).select("_pk", "_npc").join(new_wards, "_npc").drop("_npc")
    wards = old_side.join(new_side, ["_pk", "_wk"], "full")
    frames = tuple(f.coalesce(1).cache() for f in (prov, wards))
    for f in frames:
        f.count()
    prov.unpersist()
    return frames


def standardise_address(df: DataFrame, *, address: str | None = None, ward: str | None = None,
                        district: str | None = None, province: str | None = None,
                        prefix: str = "addr_") -> DataFrame:
    """Map an address (free text or split columns) to the new 2-level units; adds columns.

    docs/domain.md#administrative-units-the-2025-reform. Abbreviations are expanded first
    (:func:`expand_address_abbreviations`); units are matched by folded name without type
    (:func:`unit_key`) through broadcast hash joins against lookups aggregated once from
    :func:`admin_units_frame` and :func:`new_units_frame`:

    1. the OLD province by name; the old ward within it by name, narrowed by the district name
       when several wards share the name ('ward_ambiguous' when still several); the new province
       is exact (province_old_to_new.csv) and the new ward(s) come from ward_old_to_new.csv.
       A split old ward returns ALL new candidates and flag 'ward_split', never a guess.
    2. addresses already in the new 2-level form (ward + new province, no district) are matched
       against the new units directly (level 'new2').

    Added columns (prefixed): old_province_code, old_ward_code, new_province_code,
    new_ward_codes (array), new_ward_code (only when exactly one candidate), new_ward_name,
    level ('old3' | 'old2' | 'new2' | null) and flag ('ward_split' | 'ward_ambiguous' |
    'ward_unmapped' | 'ward_not_found' | 'province_not_found' | null).

    Performance: each step is its own projection over columns (an intermediate used several
    times is never copied into the next expression, and the optimizer does not inline it), every
    expression has generated code, and the lookups are two broadcast hash joins.
    """
    spark = df.sparkSession
    p = prefix
    tmp = "__addr"
    internal = [f"{tmp}_{n}" for n in ("t", "tw", "d", "p", "u2", "u3")]
    t, tw, d, pv, u2, u3 = (F.col(c) for c in internal)
    null = F.lit(None).cast("string")
    if address:
        df1 = df.withColumn(internal[0], expand_address_abbreviations(F.col(address)))
        typed_ward, dist, prov_txt, untyped_no_d, untyped_d = _split_address(t)
        df1 = df1.withColumns(dict(zip(internal[1:6], (typed_ward, dist, prov_txt, untyped_no_d, untyped_d))))
        aw = F.coalesce(tw, F.when(d.isNotNull(), u3).otherwise(u2))
        w_txt = F.coalesce(F.col(ward), aw) if ward else aw
        d_txt = F.coalesce(F.col(district), d) if district else d
        p_txt = F.coalesce(F.col(province), pv) if province else pv
    else:
        df1 = df
        w_txt, d_txt, p_txt = (F.col(c) if c else null for c in (ward, district, province))
    texts = [f"{tmp}_w", f"{tmp}_dt", f"{tmp}_pt"]
    df2 = df1.withColumns(dict(zip(texts, (w_txt, d_txt, p_txt))))
    if address and not (ward or district or province):
        # The parts are pieces of the expanded text between commas: when the text does not match
        # the (look-around free) expansion gate, no part does and none needs expanding again.
        df2 = df2.withColumn(f"{tmp}_g", t.rlike(_expand_gate()))
        keys = {k: _unit_key_gated(F.col(c), F.col(f"{tmp}_g")) for k, c in zip(("_wk", "_dk", "_pk"), texts)}
    else:
        keys = {k: unit_key(F.col(c)) for k, c in zip(("_wk", "_dk", "_pk"), texts)}
    keyed = df2.withColumns(keys).drop(*internal, *texts, f"{tmp}_g")

    prov, wards = _address_lookups(spark)
    j = keyed.join(F.broadcast(prov), "_pk", "left").join(F.broadcast(wards), ["_pk", "_wk"], "left")
    # the candidate old wards: those of the district when it names some, else all of that name
    j = j.withColumn("_ci", F.coalesce(F.try_element_at(F.col("_by_dk"), F.col("_dk")), F.col("_old")))
    n_c = F.coalesce(F.col("_ci.n"), F.lit(0))
    n_new = F.coalesce(F.size("_nc"), F.lit(0))
    use_new = (n_new > 0) & (F.col("_dk").isNull() | (n_c == 0))
    j = j.withColumn("_use", F.when(use_new, 1).when(n_c > 0, 2).otherwise(0))
    u_new, u_old = F.col("_use") == 1, F.col("_use") == 2
    new_codes = F.when(u_new, F.col("_nc")).when(u_old, F.col("_ci.codes"))
    new_prov_code = F.when(u_new, F.col("_npc")).otherwise(F.coalesce(F.col("_npc_old"), F.col("_npc")))
    level = F.when(u_new, "new2").when(u_old & F.col("_dk").isNotNull(), "old3").when(u_old, "old2")
    flag = (F.when(new_prov_code.isNull(), "province_not_found")
            .when(F.col("_use") == 0, "ward_not_found")
            .when(u_old & (n_c > 1), "ward_ambiguous")
            .when(u_new & (n_new > 1), "ward_ambiguous")
            .when(F.size(new_codes) > 1, "ward_split")
            .when(F.size(new_codes) == 0, "ward_unmapped"))
    one = F.size(new_codes) == 1
    out = j.withColumns({
        f"{p}old_province_code": F.col("_opc"),
        f"{p}old_ward_code": F.when(u_old & (n_c == 1), F.col("_ci.code")),
        f"{p}new_province_code": new_prov_code,
        f"{p}new_ward_codes": new_codes,
        f"{p}new_ward_code": F.when(one, new_codes[0]),
        f"{p}new_ward_name": F.when(one, F.when(u_new, F.col("_nn")).otherwise(F.col("_ci.name"))),
        f"{p}level": level,
        f"{p}flag": flag,
    })
    return out.select(*df.columns, f"{p}old_province_code", f"{p}old_ward_code", f"{p}new_province_code",
                      f"{p}new_ward_codes", f"{p}new_ward_code", f"{p}new_ward_name", f"{p}level", f"{p}flag")
