"""Entity resolution: silver identity records -> clusters of records about the same citizen or firm.

Pure DataFrame-in / DataFrame-out (plus a stats object). Two steps, as in DESIGN.md:

1. **Exact anchor.** Records that carry the validated identifier (CCCD for people, the 10-digit
   MST for enterprises) are grouped by it. Every distinct identifier is an *anchor*; two different
   anchors never end up in one cluster (cannot-link).
2. **Probabilistic (Fellegi-Sunter) linkage** of the records *without* the identifier, scored by
   Splink 5 on its Spark backend. Blocking is done here, natively, so that only pairs with at least
   one unanchored side are generated (a pair of two anchored records is already settled: same
   identifier = same cluster, different identifiers = never). Anchored records are collapsed to
   distinct attribute *profiles* first, so an unanchored record is scored once per distinct version
   of a person, not once per source record. Splink receives the blocked pairs
   (``register_blocked_pairs_for_predict``), term-frequency tables computed on *all* records, and
   fixed m/u parameters from the settings (optionally re-estimated, see ``train``).

Clustering: an unanchored record is attached to at most one anchor (its best-scoring one), and
unanchored records are linked to each other by edges above ``threshold``; connected components are
computed natively in Spark (min-label propagation). The guard then checks every component:

* more than one anchor (two valid identifiers would be merged through unanchored records) or
* more than ``max_cluster_size`` records

makes a component *bad*. With ``oversize_action: fail`` an oversize component raises
:class:`OversizeClusterError`. Otherwise (``split``; conflicts are always split) the bad components
are re-clustered keeping only edges with probability >= each of ``split_thresholds`` in turn, and
finally with no record-to-record edges at all (every record then sits with its single best anchor or
alone). Identifier groups that are themselves larger than ``max_cluster_size`` (a placeholder ID
shared by many records) are demoted before step 2 in ``split`` mode: their records lose the anchor
and are matched probabilistically. Everything the guard did is reported in the stats.

``cluster_id`` is the smallest record uid (``"<source>|<record_key>"``) in the cluster, so reruns
over the same input give the same ids. It contains source keys: gold must key-hash it (HMAC) before
it leaves the resolver, like any other identifier.
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.errors import ConfigError, OversizeClusterError

log = logging.getLogger(__name__)

UID_SEP = "|"
KEY_SEP = "\u001f"
METHODS = ("cccd", "tax_code", "probabilistic", "singleton")
OUTPUT_COLUMNS = ("source", "record_key", "cluster_id", "match_method", "match_probability")


# --------------------------------------------------------------------------- settings

# Comparison levels, in evaluation order (Splink semantics: the first matching level wins; the null
# level is first and the "else" level last). Each level: (name, SQL over <col>_l / <col>_r,
# term-frequency column or None). m/u values live in the settings (DEFAULT_*_SETTINGS) so that
# config can override them; the SQL is part of the model and lives here.
_CMND_CROSS = ("coalesce(cmnd_l = cccd_r OR cmnd_l = substr(cccd_r, 4, 9) "
               "OR cmnd_r = cccd_l OR cmnd_r = substr(cccd_l, 4, 9), false)")
_DAY = "birth_date_precision_l = 'day' AND birth_date_precision_r = 'day'"

PERSON_COMPARISONS: dict[str, dict[str, Any]] = {
    "name": {
        "null": "name_folded_l IS NULL OR name_folded_r IS NULL",
        "levels": [
            ("exact", "name_folded_l = name_folded_r", "name_folded"),
            ("reordered", "name_sorted_l = name_sorted_r", None),
            ("surname_given", "name_fl_l = name_fl_r", "name_fl"),
            ("lev1", "levenshtein(name_folded_l, name_folded_r) <= 1", None),
            ("lev2", "levenshtein(name_folded_l, name_folded_r) <= 2", None),
        ],
    },
    "birth_date": {
        "null": "birth_date_l IS NULL OR birth_date_r IS NULL",
        "levels": [
            ("exact", f"birth_date_l = birth_date_r AND {_DAY}", None),
            ("day_month_swapped", f"{_DAY} AND year(birth_date_l) = year(birth_date_r) "
                                  "AND month(birth_date_l) = day(birth_date_r) "
                                  "AND day(birth_date_l) = month(birth_date_r)", None),
            ("year_precision", "(birth_date_precision_l = 'year' OR birth_date_precision_r = 'year') "
                               "AND year(birth_date_l) = year(birth_date_r)", None),
            ("month_precision", "(birth_date_precision_l = 'month' OR birth_date_precision_r = 'month') "
                                "AND year(birth_date_l) = year(birth_date_r) "
                                "AND month(birth_date_l) = month(birth_date_r)", None),
            ("year_off_by_one", f"{_DAY} AND abs(year(birth_date_l) - year(birth_date_r)) = 1 "
                                "AND month(birth_date_l) = month(birth_date_r) "
                                "AND day(birth_date_l) = day(birth_date_r)", None),
            ("same_year", "year(birth_date_l) = year(birth_date_r)", None),
        ],
    },
    "sex": {
        "null": "sex_l IS NULL OR sex_r IS NULL",
        "levels": [("exact", "sex_l = sex_r", None)],
    },
    "address": {
        "null": "(province_code_l IS NULL OR province_code_r IS NULL) AND (ward_code_l IS NULL OR ward_code_r IS NULL)",
        "levels": [
            ("ward", "ward_code_l = ward_code_r", "ward_code"),
            # a split old ward: the new ward is one of several candidates, and they overlap
            ("ward_candidates", "coalesce(arrays_overlap(wards_l, wards_r), false)", None),
            # a ward unknown on one side (split / unmapped old ward): the province is all we know
            ("province_ward_unknown", "province_code_l = province_code_r "
                                      "AND (ward_code_l IS NULL OR ward_code_r IS NULL)", None),
            # both wards known and different: moved within the province, or another person
            ("province", "province_code_l = province_code_r", None),
        ],
    },
    "phone": {
        "null": "phone_l IS NULL OR phone_r IS NULL",
        "levels": [("exact", "phone_l = phone_r", None)],
    },
    "cccd": {
        # An unanchored record's CCCD that failed a cross-check (see unverified_id_reasons) against
        # the other record's CCCD: strong evidence, but weighed with the rest, not an anchor.
        "null": "cccd_key_l IS NULL OR cccd_key_r IS NULL",
        "levels": [("exact", "cccd_key_l = cccd_key_r", None)],
    },
    "cmnd": {
        # Neutral unless both carry a CMND, or one's CMND equals the other's CCCD (a 12-digit CMND
        # issued 2012-2016 is the later CCCD) or its last nine digits.
        "null": f"(cmnd_l IS NULL OR cmnd_r IS NULL) AND NOT {_CMND_CROSS}",
        "levels": [
            ("exact", "cmnd_l = cmnd_r", None),
            ("matches_cccd", _CMND_CROSS, None),
        ],
    },
}

ENTERPRISE_COMPARISONS: dict[str, dict[str, Any]] = {
    "tax_code": {
        # an unverified tax code (bad check digit) against the other's: equal, or equal but for
        # the check digit (the usual typo)
        "null": "tax9_l IS NULL OR tax9_r IS NULL",
        "levels": [
            ("exact", "tax_key_l = tax_key_r", None),
            ("first9", "tax9_l = tax9_r", None),
        ],
    },
    "name": {
        "null": "name_folded_l IS NULL OR name_folded_r IS NULL",
        "levels": [
            ("exact", "name_folded_l = name_folded_r", "name_folded"),
            ("core_exact", "name_core_l = name_core_r", "name_core"),
            ("core_lev2", "levenshtein(name_core_l, name_core_r) <= 2", None),
        ],
    },
    "province": {
        "null": "province_code_l IS NULL OR province_code_r IS NULL",
        "levels": [("exact", "province_code_l = province_code_r", None)],
    },
    "address": {
        "null": "address_key_l IS NULL OR address_key_r IS NULL",
        "levels": [("exact", "address_key_l = address_key_r", None)],
    },
    "owner": {
        "null": ("(owner_cccd_l IS NULL OR owner_cccd_r IS NULL) "
                 "AND (owner_name_folded_l IS NULL OR owner_name_folded_r IS NULL)"),
        "levels": [
            ("cccd_exact", "owner_cccd_l = owner_cccd_r", None),
            ("name_exact", "owner_name_folded_l = owner_name_folded_r", "owner_name_folded"),
        ],
    },
    "phone": {
        "null": "phone_l IS NULL OR phone_r IS NULL",
        "levels": [("exact", "phone_l = phone_r", None)],
    },
}

# Every key documented; `m` / `u` are Fellegi-Sunter probabilities P(level | match) and
# P(level | non-match). `u_per_record: k` means u = k / N (N = input records): for identifiers
# (phone, CMND) the chance that a random other record shares the value shrinks with the population,
# as does the prior, so the pair weight stays the same at every scale. The `else` level of each
# comparison takes the remaining probability mass (1 - sum of the others).
DEFAULT_PERSON_SETTINGS: dict[str, Any] = {
    # A pair (or record-to-anchor) edge needs match_probability >= threshold.
    "threshold": 0.95,
    # Guard: components with more records than this are oversize.
    "max_cluster_size": 50,
    # 'split' (re-cluster the component with stricter edges; demote oversize ID groups) or 'fail'.
    "oversize_action": "split",
    # Stricter edge thresholds tried in turn on bad components; last resort: anchor edges only.
    "split_thresholds": [0.99, 0.999, 0.9999],
    # A blocking key shared by more records than this is skipped (and reported): no giant blocks.
    "max_block_size": 2000,
    # Blocking rules: each is a list of prepared columns that must all be equal (and non-null).
    # Available: name_folded, name_sorted (tokens sorted: order-insensitive), given_name (last token),
    # name_fl (surname + given name), birth_date, birth_year, birth_md (MM-dd, day precision only),
    # sex, phone, cmnd, cccd_key (valid or unverified CCCD), id_tail (CCCD digits 4-12 / a CMND's
    # 9 digits), province_code, ward_code.
    # Never a surname alone; every rule pairs a name part with a date or a place, or is an ID.
    "blocking_rules": [
        ["name_sorted", "birth_year"],    # same name (any order), same year: the bulk
        ["given_name", "birth_date"],     # typo / dropped middle name / other surname spelling
        ["name_fl", "birth_md"],          # dropped middle name and birth year off by one
        ["name_sorted", "ward_code"],     # birth date wrong or year-only, same ward
        ["birth_md", "ward_code"],        # name typo and year off by one, same ward
        ["birth_date", "ward_code"],      # name typo with a year-only date, same ward
        ["phone"],
        ["cmnd"],
        ["id_tail"],                      # a CMND field holding the CCCD's last nine digits
        ["cccd_key"],                     # a CCCD that failed its cross-check (no anchor)
    ],
    # Prior P(two random records match). 'auto' = d / (N - 1), d = mean number of *other* records
    # sharing a record's CCCD among anchored records (a data-driven duplicate rate).
    "probability_two_random_records_match": "auto",
    # Term-frequency adjustments (Splink): weight 1 = full adjustment; the floor caps the weight a
    # very rare value can earn.
    "tf_adjustment_weight": 1.0,
    "tf_minimum_u_value": 1.0e-5,
    # Optional re-estimation. method: none | labels (m from CCCD-labelled pairs, u by random
    # sampling) | em (u by random sampling, m by EM on em_blocking_rules). Fixed m/u (none) are
    # deterministic and fastest.
    "train": {"method": "none", "u_max_pairs": 1.0e6, "seed": 42, "label_sample_records": 200000,
              "em_blocking_rules": [["name_folded", "birth_date"], ["phone"]]},
    # Silver reasons (cccd_reason / tax_code_reason columns, when present) for which a well-formed
    # identifier is kept as probabilistic evidence instead of an anchor; any other reason drops it.
    "unverified_id_reasons": ["birth_year_mismatch", "sex_mismatch", "bad_check_digit"],
    # A record scoring above threshold against several identifiers is attached to the best one only
    # if its match weight beats the runner-up by this many bits (2**3 = 8x likelihood); otherwise
    # it is attached to none (ambiguous: e.g. twins' records) and can still link to unanchored ones.
    "anchor_ambiguity_margin": 3.0,
    # The population size N the prior and `u_per_record` refer to: 'auto' = the input row count.
    # Set it when resolving a small sample against a large population.
    "population_records": "auto",
    # Label-propagation iterations allowed for connected components.
    "max_cc_iterations": 50,
    # Blocking keys / record ids up to this many rows are broadcast in the candidate filter.
    "broadcast_max_rows": 1000000,
    # Bad components with at most this many edges are split on the driver, larger ones in Spark.
    "local_split_max_edges": 200000,
    "comparisons": {
        "name": {"exact": {"m": 0.86, "u": 1.0e-4}, "reordered": {"m": 0.02, "u": 2.0e-5},
                 "surname_given": {"m": 0.04, "u": 2.0e-3}, "lev1": {"m": 0.04, "u": 2.0e-3},
                 "lev2": {"m": 0.02, "u": 4.0e-3}},
        "birth_date": {"exact": {"m": 0.84, "u": 3.7e-5}, "day_month_swapped": {"m": 0.04, "u": 3.7e-5},
                       "year_precision": {"m": 0.04, "u": 0.014}, "month_precision": {"m": 0.01, "u": 1.2e-3},
                       "year_off_by_one": {"m": 0.04, "u": 7.5e-5}, "same_year": {"m": 0.02, "u": 0.013}},
        "sex": {"exact": {"m": 0.995, "u": 0.5}},
        "address": {"ward": {"m": 0.8, "u": 4.0e-4}, "ward_candidates": {"m": 0.05, "u": 1.2e-3},
                    "province_ward_unknown": {"m": 0.1, "u": 0.01}, "province": {"m": 0.03, "u": 0.04}},
        "cccd": {"exact": {"m": 0.9, "u_per_record": 0.05}},
        "phone": {"exact": {"m": 0.85, "u_per_record": 0.5}},
        "cmnd": {"exact": {"m": 0.85, "u_per_record": 0.5}, "matches_cccd": {"m": 0.1, "u_per_record": 0.1}},
    },
}

DEFAULT_ENTERPRISE_SETTINGS: dict[str, Any] = {
    **copy.deepcopy({k: v for k, v in DEFAULT_PERSON_SETTINGS.items() if k not in ("comparisons", "blocking_rules")}),
    "max_cluster_size": 500,   # one firm files every quarter: many records per firm
    # Available: tax9 (first nine digits of any well-formed tax code), name_folded, name_core (legal
    # form removed), province_code, address_key, owner_name_folded, owner_cccd, phone.
    "blocking_rules": [
        ["tax9"],
        ["name_folded", "province_code"],
        ["name_core", "owner_name_folded"],
        ["owner_cccd"],
        ["phone"],
        ["address_key"],
    ],
    "train": {"method": "none", "u_max_pairs": 1.0e6, "seed": 42, "label_sample_records": 200000,
              "em_blocking_rules": [["name_folded", "province_code"]]},
    "comparisons": {
        "tax_code": {"exact": {"m": 0.5, "u_per_record": 0.05}, "first9": {"m": 0.45, "u_per_record": 0.5}},
        "name": {"exact": {"m": 0.9, "u": 5.0e-4}, "core_exact": {"m": 0.05, "u": 2.0e-3},
                 "core_lev2": {"m": 0.03, "u": 0.01}},
        "province": {"exact": {"m": 0.95, "u": 0.06}},
        "address": {"exact": {"m": 0.6, "u_per_record": 0.5}},
        "owner": {"cccd_exact": {"m": 0.9, "u_per_record": 2.0}, "name_exact": {"m": 0.07, "u": 1.0e-4}},
        "phone": {"exact": {"m": 0.5, "u_per_record": 1.0}},
    },
}


def _merge(base: Mapping[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep merge (dicts merge, everything else replaces). Accepts OmegaConf containers."""
    out = copy.deepcopy(dict(base))
    if override is None:
        return out
    try:  # OmegaConf DictConfig -> plain dict
        from omegaconf import DictConfig, OmegaConf

        if isinstance(override, DictConfig):
            override = OmegaConf.to_container(override, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    for k, v in dict(override).items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def person_settings(settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults with `settings` merged over them (what :func:`resolve_people` uses)."""
    return _validate(_merge(DEFAULT_PERSON_SETTINGS, settings), PERSON_SPEC)


def enterprise_settings(settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The enterprise defaults with `settings` merged over them."""
    return _validate(_merge(DEFAULT_ENTERPRISE_SETTINGS, settings), ENTERPRISE_SPEC)


# Where each entity's settings live in the root config (named in ConfigError messages).
CONFIG_KEYS = {"person": "gold.resolve_people", "enterprise": "gold.resolve_enterprises"}
# Scalar settings that must be numbers (cast as the resolver casts them).
_NUMERIC = (("threshold", float), ("max_cluster_size", int), ("max_block_size", int), ("max_cc_iterations", int),
            ("broadcast_max_rows", int), ("local_split_max_edges", int), ("anchor_ambiguity_margin", float),
            ("tf_adjustment_weight", float), ("tf_minimum_u_value", float))


def _number(where: str, key: str, value: Any, cast: Callable[[Any], Any] = float) -> Any:
    if isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected a number, not {value!r}")
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.{key}: expected a number, not {value!r}") from None


def _validate(s: dict[str, Any], spec: "_Spec") -> dict[str, Any]:
    """Check merged settings; a bad value raises :class:`ConfigError` naming its config key
    (``gold.resolve_people.<key>`` / ``gold.resolve_enterprises.<key>``)."""
    comparisons = spec.comparisons
    where = CONFIG_KEYS.get(spec.entity, f"resolve_{spec.entity}")
    if s["oversize_action"] not in ("split", "fail"):
        raise ConfigError(f"{where}.oversize_action must be 'split' or 'fail', not {s['oversize_action']!r}")
    for key, cast in _NUMERIC:
        if key in s:
            _number(where, key, s[key], cast)
    threshold = float(s["threshold"])
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"{where}.threshold must be in (0, 1), not {s['threshold']!r}")
    if int(s["max_cluster_size"]) < 2:
        raise ConfigError(f"{where}.max_cluster_size must be >= 2, not {s['max_cluster_size']!r}")
    if not isinstance(s["comparisons"], Mapping):
        raise ConfigError(f"{where}.comparisons: expected a mapping of comparison -> level -> m/u")
    for comp, levels in s["comparisons"].items():
        if comp not in comparisons:
            raise ConfigError(f"{where}.comparisons.{comp}: unknown comparison; known: {sorted(comparisons)}")
        known = {name for name, _, _ in comparisons[comp]["levels"]}
        if not isinstance(levels, Mapping):
            raise ConfigError(f"{where}.comparisons.{comp}: expected a mapping of level -> m/u; "
                              f"levels: {sorted(known)}")
        for level, params in levels.items():
            if level not in known:
                raise ConfigError(f"{where}.comparisons.{comp}.{level}: unknown level; known: {sorted(known)}")
            if not isinstance(params, Mapping):
                raise ConfigError(f"{where}.comparisons.{comp}.{level}: expected m and u (or u_per_record)")
            for k in ("m", "u", "u_per_record"):
                if k in params:
                    _number(where, f"comparisons.{comp}.{level}.{k}", params[k])
    if s["train"]["method"] not in ("none", "labels", "em"):
        raise ConfigError(f"{where}.train.method must be none, labels or em, not {s['train']['method']!r}")
    keys = set(spec.compare_columns) - {"wards"}
    for key, rules in (("blocking_rules", s["blocking_rules"]), ("train.em_blocking_rules",
                                                                  s["train"]["em_blocking_rules"])):
        for rule in rules:
            bad = [c for c in rule if c not in keys]
            if not rule or bad:
                raise ConfigError(f"{where}.{key}: blocking rule {list(rule)}: unknown column(s) {bad}; "
                                  f"available: {sorted(keys)}")
    if isinstance(s["split_thresholds"], (str, Mapping)) or not isinstance(s["split_thresholds"], Sequence):
        raise ConfigError(f"{where}.split_thresholds: expected a list of probabilities, not {s['split_thresholds']!r}")
    splits = [_number(where, "split_thresholds", t) for t in s["split_thresholds"]]
    if any(t <= threshold for t in splits):
        raise ConfigError(f"{where}.split_thresholds must all be above threshold ({threshold})")
    return s


# --------------------------------------------------------------------------- stats

@dataclass
class ResolveStats:
    """What one resolution did, with throughput figures."""

    entity: str
    records: int = 0
    anchored_records: int = 0
    anchors: int = 0
    unanchored_records: int = 0
    profiles: int = 0
    prior: float = 0.0
    pairs_scored: int = 0
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks: list[dict] = field(default_factory=list)
    edges_above_threshold: int = 0
    multi_anchor_records: int = 0       # records scoring above threshold against >= 2 identifiers
    ambiguous_records: int = 0          # ... of which left unattached (runner-up within the margin)
    clusters: int = 0
    probabilistic_records: int = 0
    singleton_records: int = 0
    conflict_components: int = 0        # components that would have merged two identifiers (split)
    oversize_components: list[dict] = field(default_factory=list)
    demoted_anchors: list[dict] = field(default_factory=list)
    unsplittable_components: list[dict] = field(default_factory=list)
    cc_iterations: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    records_per_s: float = 0.0
    pairs_scored_per_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Resolution(NamedTuple):
    """``clusters`` (one row per input record; see OUTPUT_COLUMNS) and ``stats``."""

    clusters: DataFrame
    stats: ResolveStats


# --------------------------------------------------------------------------- preparation

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


@dataclass(frozen=True)
class _Spec:
    entity: str
    anchor_method: str
    prepare: Callable[[DataFrame, Mapping[str, Any]], DataFrame]
    comparisons: Mapping[str, Any]
    compare_columns: tuple[str, ...]     # carried into Splink (and into profiles); blocking keys
    tf_columns: tuple[str, ...]


PERSON_SPEC = _Spec(
    "person", "cccd", _prepare_people, PERSON_COMPARISONS,
    ("name_folded", "name_sorted", "given_name", "name_fl", "birth_date", "birth_date_precision",
     "birth_year", "birth_md", "sex", "cccd", "cccd_key", "cmnd", "id_tail", "phone", "province_code",
     "ward_code", "wards"),
    ("name_folded", "name_fl", "ward_code"),
)
ENTERPRISE_SPEC = _Spec(
    "enterprise", "tax_code", _prepare_enterprises, ENTERPRISE_COMPARISONS,
    ("tax_key", "tax9", "name_folded", "name_core", "province_code", "address_key", "owner_name_folded",
     "owner_cccd", "phone"),
    ("name_folded", "name_core", "owner_name_folded"),
)


# --------------------------------------------------------------------------- Splink model

def _u_value(level: Mapping[str, Any], n_records: int) -> float:
    if "u_per_record" in level:
        return min(0.5, float(level["u_per_record"]) / max(n_records, 1))
    return float(level["u"])


def splink_settings(spec: _Spec, s: Mapping[str, Any], n_records: int, prior: float) -> dict[str, Any]:
    """The Splink settings dict of the model (fixed m/u; the levels' SQL from the spec)."""
    comparisons = []
    for comp, definition in spec.comparisons.items():
        params = s["comparisons"].get(comp, {})
        levels: list[dict[str, Any]] = [{"sql_condition": definition["null"], "label_for_charts": "null",
                                         "is_null_level": True}]
        m_sum = u_sum = 0.0
        for name, sql, tf in definition["levels"]:
            p = params.get(name)
            if p is None:
                raise ConfigError(f"{CONFIG_KEYS.get(spec.entity, spec.entity)}.comparisons.{comp}.{name}: "
                                  "m/u missing")
            m, u = float(p["m"]), _u_value(p, n_records)
            m_sum, u_sum = m_sum + m, u_sum + u
            level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": name,
                                     "m_probability": m, "u_probability": u}
            # (a zero weight is expressed by leaving TF out: Splink reads a missing weight as 1)
            if tf and float(s["tf_adjustment_weight"]) > 0:
                level.update(tf_adjustment_column=tf, tf_adjustment_weight=float(s["tf_adjustment_weight"]),
                             tf_minimum_u_value=float(s["tf_minimum_u_value"]))
                if not sql.replace(" ", "") == f"{tf}_l={tf}_r":
                    level["disable_tf_exact_match_detection"] = True
            levels.append(level)
        if m_sum >= 1.0 or u_sum >= 1.0:
            raise ConfigError(f"{CONFIG_KEYS.get(spec.entity, spec.entity)}.comparisons.{comp}: "
                              "m or u probabilities sum to >= 1")
        levels.append({"sql_condition": "ELSE", "label_for_charts": "else",
                       "m_probability": max(1.0 - m_sum, 1e-6), "u_probability": max(1.0 - u_sum, 1e-6)})
        comparisons.append({"output_column_name": comp, "comparison_levels": levels})
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "uid",
        "probability_two_random_records_match": prior,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "linker_uid": uuid.uuid4().hex[:8],
    }


def _rule_sql(rule: Sequence[str]) -> str:
    return " AND ".join(f"l.{c} = r.{c}" for c in rule)


# --------------------------------------------------------------------------- blocking

def _key(rule: Sequence[str]) -> Column:
    cols = [F.col(c).cast("string") for c in rule]
    present = cols[0].isNotNull()
    for c in cols[1:]:
        present = present & c.isNotNull()
    return F.when(present, F.concat_ws(KEY_SEP, *cols))


def _explode_keys(df: DataFrame, rules: Sequence[Sequence[str]]) -> DataFrame:
    """(uid, anchored, rule, key): one row per record and blocking rule whose columns are all set."""
    return df.select(
        "uid", F.col("anchor").isNotNull().alias("anchored"),
        F.explode(F.array(*[F.struct(F.lit(i).alias("rule"), _key(r).alias("key"))
                            for i, r in enumerate(rules)])).alias("k"),
    ).select("uid", "anchored", "k.rule", "k.key").where(F.col("key").isNotNull())


def _candidates(prep: DataFrame, cols: Sequence[str], rules: Sequence[Sequence[str]],
                broadcast_max: int) -> DataFrame:
    """Unanchored records + the distinct profiles of those anchored records that share at least one
    blocking key with an unanchored record (the others can never be paired: no wide shuffle of
    every anchored record). Profile = one row per distinct (anchor, compared values), min uid."""
    free = prep.where(F.col("anchor").isNull()).select("uid", "anchor", *cols)
    live = _explode_keys(free, rules).select("rule", "key").distinct().localCheckpoint()
    small = live.count() <= broadcast_max
    anchored = prep.where(F.col("anchor").isNotNull())
    rel = _explode_keys(anchored.select("uid", "anchor", *cols), rules) \
        .join(F.broadcast(live) if small else live, ["rule", "key"], "left_semi").select("uid").distinct()
    rel = rel.localCheckpoint()
    small = rel.count() <= broadcast_max
    profiles = anchored.join(F.broadcast(rel) if small else rel, "uid", "left_semi") \
        .groupBy("anchor", *cols).agg(F.min("uid").alias("uid")).select("uid", "anchor", *cols)
    return free.unionByName(profiles)


def _blocked_pairs(cand: DataFrame, rules: Sequence[Sequence[str]], max_block: int,
                   stats: ResolveStats) -> DataFrame:
    """(match_key, join_key_l, join_key_r) for every pair sharing a blocking key, with at least one
    unanchored side; join_key_l < join_key_r; blocks larger than `max_block` are skipped."""
    keyed = _explode_keys(cand, rules)
    w = Window.partitionBy("rule", "key")
    # only blocks holding an unanchored record can produce a pair: keep those (small), once
    keyed = (keyed.select("*", F.count(F.lit(1)).over(w).alias("n"),
                          F.sum(F.when(~F.col("anchored"), 1).otherwise(0)).over(w).alias("n_free"))
             .where(F.col("n_free") > 0)).persist()
    try:
        big = keyed.where(F.col("n") > max_block).groupBy("rule", "key").agg(F.first("n").alias("n"))
        for row in big.orderBy(F.desc("n"), "rule").limit(20).collect():
            stats.skipped_blocks.append({"rule": "+".join(rules[row["rule"]]), "records": int(row["n"])})
        ok = keyed.where(F.col("n") <= max_block).select("uid", "anchored", "rule", "key")
        left = ok.where(~F.col("anchored")).select(F.col("uid").alias("a"), "rule", "key")
        right = ok.select(F.col("uid").alias("b"), F.col("anchored").alias("b_anchored"), "rule", "key")
        pairs = (left.join(right, ["rule", "key"])
                 .where((F.col("a") != F.col("b")) & (F.col("b_anchored") | (F.col("a") < F.col("b")))))
        return (pairs.select(F.least("a", "b").alias("join_key_l"), F.greatest("a", "b").alias("join_key_r"), "rule")
                .groupBy("join_key_l", "join_key_r").agg(F.min("rule").alias("rule"))
                .select(F.col("rule").cast("string").alias("match_key"), "join_key_l", "join_key_r")
                .localCheckpoint())
    finally:
        keyed.unpersist()


# --------------------------------------------------------------------------- connected components

def connected_components(edges: DataFrame, max_iter: int = 50) -> tuple[DataFrame, int]:
    """Components of the undirected graph `edges(a, b)` (string node ids) by min-label propagation
    with pointer jumping. Returns (node, comp) with comp = smallest node id in the component, and
    the number of iterations. Only nodes that appear in an edge are returned."""
    e = edges.select("a", "b").union(edges.select(F.col("b").alias("a"), F.col("a").alias("b")))
    e = e.where(F.col("a") != F.col("b")).distinct().localCheckpoint()
    labels = e.groupBy("a").agg(F.least(F.col("a"), F.min("b")).alias("comp")) \
        .withColumnRenamed("a", "node").localCheckpoint()
    for i in range(1, max_iter + 1):
        nb = (e.join(labels.select(F.col("node").alias("b"), F.col("comp").alias("cb")), "b")
              .groupBy("a").agg(F.min("cb").alias("m")).withColumnRenamed("a", "node"))
        step = labels.join(nb, "node").select("node", F.least("comp", "m").alias("comp"),
                                              F.col("comp").alias("old")).localCheckpoint()
        # pointer jumping: adopt the label of my label (halves the iterations on long chains)
        hop = step.join(step.select(F.col("node").alias("comp"), F.col("comp").alias("cc")), "comp", "left") \
            .select("node", F.least("comp", F.coalesce("cc", "comp")).alias("comp"), "old").localCheckpoint()
        changed = hop.where(F.col("comp") != F.col("old")).limit(1).count()
        labels = hop.select("node", "comp")
        if not changed:
            return labels, i
    raise RuntimeError(f"connected components did not converge in {max_iter} iterations")


# --------------------------------------------------------------------------- the resolver

def resolve_people(df: DataFrame, settings: Mapping[str, Any] | None = None) -> Resolution:
    """Resolve person records (``lakehouse.silver.schema.PERSON_IDENTITY``) into citizens.

    Returns ``Resolution(clusters, stats)``; ``clusters`` has one row per input row:
    ``source, record_key, cluster_id, match_method ('cccd' | 'probabilistic' | 'singleton'),
    match_probability`` (1.0 for CCCD links, the best retained edge probability for probabilistic
    links, null for singletons). Settings: see :data:`DEFAULT_PERSON_SETTINGS`.
    """
    return _resolve(df, person_settings(settings), PERSON_SPEC)


def resolve_enterprises(df: DataFrame, settings: Mapping[str, Any] | None = None) -> Resolution:
    """Resolve enterprise records (``ENTERPRISE_IDENTITY``): exact on the 10-digit tax code, then
    Fellegi-Sunter on name, province, address, owner and phone. match_method is 'tax_code' for
    anchored records. Settings: see :data:`DEFAULT_ENTERPRISE_SETTINGS`."""
    return _resolve(df, enterprise_settings(settings), ENTERPRISE_SPEC)


def _resolve(df: DataFrame, s: dict[str, Any], spec: _Spec) -> Resolution:
    stats = ResolveStats(entity=spec.entity)
    cached: list[DataFrame] = []

    def keep(frame: DataFrame) -> DataFrame:
        cached.append(frame.persist())
        return frame

    try:
        return _run(df, s, spec, stats, keep)
    finally:
        for frame in cached:
            frame.unpersist()


def _run(df: DataFrame, s: dict[str, Any], spec: _Spec, stats: ResolveStats,
         keep: Callable[[DataFrame], DataFrame]) -> Resolution:
    spark = df.sparkSession
    t0 = time.perf_counter()
    clock = {"t": t0}

    def lap(name: str) -> None:
        now = time.perf_counter()
        stats.seconds[name] = round(now - clock["t"], 3)
        clock["t"] = now

    max_size = int(s["max_cluster_size"])
    prep = keep(spec.prepare(df, s))
    counts = prep.agg(F.count(F.lit(1)).alias("n"), F.count("anchor").alias("a")).first()
    stats.records, stats.anchored_records = int(counts["n"]), int(counts["a"])

    # ---- step 1: exact anchors (and the guard on the identifier groups themselves)
    anchors = keep(prep.where(F.col("anchor").isNotNull()).groupBy("anchor")
                   .agg(F.min("uid").alias("anchor_uid"), F.count(F.lit(1)).alias("n")))

    def anchor_stats():
        return anchors.agg(F.count(F.lit(1)).alias("k"), F.sum(F.col("n") * (F.col("n") - 1)).alias("pairs"),
                           F.sum("n").alias("n"), F.max("n").alias("max")).first()

    agg = anchor_stats()
    if (agg["max"] or 0) > max_size:
        big = anchors.where(F.col("n") > max_size).orderBy(F.desc("n"), "anchor_uid").limit(1000).collect()
        listing = [{"cluster_id": r["anchor_uid"], "records": int(r["n"]), "anchors": 1} for r in big]
        if s["oversize_action"] == "fail":
            raise OversizeClusterError(
                f"{len(big)} {spec.anchor_method} group(s) exceed max_cluster_size={max_size}: {listing[:5]}",
                listing)
        stats.demoted_anchors = listing
        log.warning("resolver: %d %s groups larger than %d demoted to probabilistic matching",
                    len(big), spec.anchor_method, max_size)
        demote = anchors.where(F.col("n") > max_size).select("anchor", F.lit(True).alias("_demoted"))
        prep = keep(prep.join(demote, "anchor", "left")
                    .withColumn("anchor", F.when(F.col("_demoted").isNull(), F.col("anchor"))).drop("_demoted"))
        anchors = keep(anchors.where(F.col("n") <= max_size))
        stats.anchored_records = prep.where(F.col("anchor").isNotNull()).count()
        agg = anchor_stats()
    stats.anchors = int(agg["k"])
    stats.unanchored_records = stats.records - stats.anchored_records
    population = s["population_records"]
    population = stats.records if population in (None, "auto") else int(population)
    # Prior: d / (N - 1), d = mean number of other records sharing a record's identifier.
    prior = s["probability_two_random_records_match"]
    if prior in (None, "auto"):
        d = (agg["pairs"] or 0) / agg["n"] if agg["n"] else 0.5
        prior = min(max(d, 0.05) / max(population - 1, 1), 0.5)
    stats.prior = float(prior)
    lap("prepare")

    cols = list(spec.compare_columns)
    edges = None
    if stats.unanchored_records > 0 and stats.records > 1:
        # ---- step 2 candidates: unanchored records + distinct profiles of anchored records
        cand = keep(_candidates(prep, cols, s["blocking_rules"], int(s["broadcast_max_rows"])))
        pairs = _blocked_pairs(cand, s["blocking_rules"], int(s["max_block_size"]), stats)
        by_rule = {r["match_key"]: int(r["n"])
                   for r in pairs.groupBy("match_key").agg(F.count(F.lit(1)).alias("n")).collect()}
        stats.pairs_by_rule = {"+".join(rule): by_rule.get(str(i), 0) for i, rule in enumerate(s["blocking_rules"])}
        stats.pairs_scored = sum(by_rule.values())
        lap("blocking")
        if stats.pairs_scored:
            in_pairs = pairs.select(F.col("join_key_l").alias("uid")) \
                .union(pairs.select(F.col("join_key_r").alias("uid"))).distinct()
            splink_input = keep(cand.join(in_pairs, "uid", "left_semi"))
            stats.profiles = splink_input.where(F.col("anchor").isNotNull()).count()
            scored = _score(spark, prep, splink_input, pairs, spec, s, population, stats.prior)
            # map profile uids to anchors: anchor edges (record -> anchor) and record-record edges
            pmap = splink_input.where(F.col("anchor").isNotNull()).select("uid", "anchor")
            sc = (scored.join(pmap.select(F.col("uid").alias("uid_l"), F.col("anchor").alias("anc_l")), "uid_l", "left")
                  .join(pmap.select(F.col("uid").alias("uid_r"), F.col("anchor").alias("anc_r")), "uid_r", "left"))
            edges = sc.select(
                F.when(F.col("anc_l").isNull(), F.col("uid_l")).otherwise(F.col("uid_r")).alias("a"),
                F.coalesce("anc_l", "anc_r").alias("anchor"),
                F.when(F.col("anc_l").isNull() & F.col("anc_r").isNull(), F.col("uid_r")).alias("b"),
                F.col("match_probability").alias("p"),
                F.col("match_weight").alias("w"),
            ).localCheckpoint()
            stats.edges_above_threshold = edges.count()
            lap("scoring")
            stats.pairs_scored_per_s = round(stats.pairs_scored / max(stats.seconds["scoring"], 1e-9), 1)

    clusters = _cluster(spark, prep, anchors, edges, s, spec, stats).localCheckpoint()
    summary = clusters.agg(F.countDistinct("cluster_id").alias("clusters"),
                           F.sum((F.col("match_method") == "probabilistic").cast("int")).alias("prob"),
                           F.sum((F.col("match_method") == "singleton").cast("int")).alias("single")).first()
    stats.clusters = int(summary["clusters"] or 0)
    stats.probabilistic_records = int(summary["prob"] or 0)
    stats.singleton_records = int(summary["single"] or 0)
    lap("clustering")
    total = time.perf_counter() - t0
    stats.seconds["total"] = round(total, 3)
    stats.records_per_s = round(stats.records / max(total, 1e-9), 1)
    log.info("resolver(%s): %s", spec.entity, stats.as_dict())
    return Resolution(clusters, stats)


def _score(spark, prep: DataFrame, splink_input: DataFrame, pairs: DataFrame, spec: _Spec,
           s: Mapping[str, Any], n_records: int, prior: float) -> DataFrame:
    """Score the blocked pairs with Splink (Spark backend). Returns (uid_l, uid_r, match_probability)
    for pairs at or above the threshold (the lowest threshold the guard may need)."""
    from splink import Linker, SparkAPI

    tag = uuid.uuid4().hex[:8]
    db = SparkAPI(spark_session=spark, register_udfs_automatically=False, break_lineage_method="persist")
    settings = splink_settings(spec, s, n_records, prior)
    created: list[str] = []
    try:
        inp = db.register(splink_input, table_name=f"__lh_resolve_{tag}_input")
        created.append(inp.physical_name)
        linker = Linker(inp, settings, log_level=None)
        totals = prep.agg(*[F.count(c).alias(c) for c in spec.tf_columns]).first()
        for col in spec.tf_columns:
            # term frequencies over ALL records (not only the candidates scored here)
            tf = prep.where(F.col(col).isNotNull()).groupBy(col).agg(F.count(F.lit(1)).alias("c"))
            tf = tf.select(col, (F.col("c") / F.lit(max(int(totals[col]), 1))).alias(f"tf_{col}"))
            tf_sdf = db.register(tf, table_name=f"__lh_resolve_{tag}_tf_{col}")
            created.append(tf_sdf.physical_name)
            linker.table_management.register_term_frequency_lookup(tf_sdf, col)
        _train(linker, prep, spec, s, settings, tag, created)
        blocked = db.register(pairs, table_name=f"__lh_resolve_{tag}_pairs")
        created.append(blocked.physical_name)
        linker.table_management.register_blocked_pairs_for_predict(blocked)
        pred = linker.inference.predict(threshold_match_probability=float(s["threshold"]), warning_mode="never")
        out = pred.as_spark_dataframe() \
            .localCheckpoint()
        return out
    finally:
        _cleanup_splink(spark, db, created)


def _train(linker, prep: DataFrame, spec: _Spec, s: Mapping[str, Any], model: Mapping[str, Any], tag: str,
           created: list) -> None:
    """Optional re-estimation of m/u (settings.train.method); the fixed values are the start."""
    t = s["train"]
    method = t["method"]
    if method == "none":
        return
    linker.training.estimate_u_using_random_sampling(max_pairs=float(t["u_max_pairs"]), seed=int(t["seed"]))
    if method == "em":
        for rule in t["em_blocking_rules"]:
            linker.training.estimate_parameters_using_expectation_maximisation(_rule_sql(rule))
        return
    # method == 'labels': records sharing an identifier are true matches; estimate m from the pairs
    # of a sample of anchored records (Splink's estimate_m_from_label_column), copy m over.
    from splink import Linker

    n = max(int(t["label_sample_records"]), 2)
    anchored = prep.where(F.col("anchor").isNotNull())
    total = anchored.count()
    sample = anchored if total <= n else anchored.sample(False, n / total, seed=int(t["seed"]))
    sample = sample.select("uid", F.col("anchor").alias("_label"), *spec.compare_columns)
    lab = linker._db_api.register(sample, table_name=f"__lh_resolve_{tag}_labels")
    created.append(lab.physical_name)
    lab_linker = Linker(lab, {**model, "linker_uid": uuid.uuid4().hex[:8]}, log_level=None)
    lab_linker.training.estimate_m_from_label_column("_label")
    for comp, new in zip(linker._settings_obj.comparisons, lab_linker._settings_obj.comparisons):
        for lvl, nlvl in zip(comp.comparison_levels, new.comparison_levels):
            if not lvl.is_null_level and isinstance(nlvl._m_probability, float):
                lvl.m_probability = nlvl._m_probability


def _cleanup_splink(spark, db, created: list[str]) -> None:
    """Unpersist what Splink persisted and drop its temp views (best effort)."""
    names = list(getattr(db, "_created_tables", set())) + created
    for name in names:
        try:
            spark.catalog.uncacheTable(name)
        except Exception:  # noqa: BLE001 - not cached / already gone
            pass
        try:
            spark.catalog.dropTempView(name)
        except Exception:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------- clustering

def _cluster(spark, prep: DataFrame, anchors: DataFrame, edges: DataFrame | None, s: Mapping[str, Any],
             spec: _Spec, stats: ResolveStats) -> DataFrame:
    """Build the graph (unanchored records + anchors), apply the guard, assign cluster ids."""
    max_size = int(s["max_cluster_size"])
    rec = prep.select("source", "record_key", "uid", "anchor")
    if edges is None or stats.edges_above_threshold == 0:
        assign = None
    else:
        # anchor edges: each record keeps only its best anchor (ties: smallest anchor uid)
        ae = edges.where(F.col("anchor").isNotNull()).join(anchors.select("anchor", "anchor_uid"), "anchor") \
            .groupBy("a", "anchor_uid").agg(F.max("p").alias("p"), F.max("w").alias("w"))
        w = Window.partitionBy("a").orderBy(F.desc("w"), F.asc("anchor_uid"))
        ae = ae.select("*", F.row_number().over(w).alias("rk"), F.lead("w").over(w).alias("w2"),
                       F.count(F.lit(1)).over(Window.partitionBy("a")).alias("na"))
        margin = float(s["anchor_ambiguity_margin"])
        ae = ae.where(F.col("rk") == 1).withColumn(
            "ambiguous", F.coalesce(F.col("w") - F.col("w2") < F.lit(margin), F.lit(False))).localCheckpoint()
        amb = ae.agg(F.sum(F.when(F.col("na") > 1, 1).otherwise(0)).alias("multi"),
                     F.sum(F.col("ambiguous").cast("int")).alias("amb")).first()
        stats.multi_anchor_records, stats.ambiguous_records = int(amb["multi"] or 0), int(amb["amb"] or 0)
        graph = (ae.where(~F.col("ambiguous")).select("a", F.col("anchor_uid").alias("b"), "p", F.lit(True).alias("to_anchor"))
                 .unionByName(edges.where(F.col("b").isNotNull()).select("a", "b", "p", F.lit(False).alias("to_anchor"))))
        graph = graph.localCheckpoint()
        # node weights: anchors count their identifier group, records count 1
        weights = anchors.select(F.col("anchor_uid").alias("node"), F.col("n").alias("w"), F.lit(1).alias("is_anchor"))
        assign = _guarded_components(graph, weights, s, stats)
    # assign: node -> comp for every node of the (split) graph
    out = rec.join(anchors.select("anchor", "anchor_uid"), "anchor", "left")
    if assign is None:
        out = out.select("source", "record_key", "uid", "anchor",
                         F.coalesce("anchor_uid", "uid").alias("cluster_id"), F.lit(None).cast("double").alias("p"))
    else:
        a_comp = assign.select(F.col("node").alias("anchor_uid"), F.col("comp").alias("a_comp"))
        r_comp = assign.select(F.col("node").alias("uid"), F.col("comp").alias("r_comp"), F.col("p").alias("p"))
        out = (out.join(a_comp, "anchor_uid", "left").join(r_comp, "uid", "left")
               .select("source", "record_key", "uid", "anchor",
                       F.when(F.col("anchor").isNotNull(), F.coalesce("a_comp", "anchor_uid"))
                       .otherwise(F.coalesce("r_comp", "uid")).alias("cluster_id"),
                       F.when(F.col("anchor").isNull(), F.col("p")).alias("p")))
    method = (F.when(F.col("anchor").isNotNull(), F.lit(spec.anchor_method))
              .when(F.col("p").isNotNull(), F.lit("probabilistic")).otherwise(F.lit("singleton")))
    prob = F.when(F.col("anchor").isNotNull(), F.lit(1.0)).otherwise(F.col("p"))
    return out.select("source", "record_key", "cluster_id", method.alias("match_method"),
                      prob.cast("double").alias("match_probability"))


def _components_with_stats(graph: DataFrame, weights: DataFrame, max_size: int, max_iter: int,
                           stats: ResolveStats) -> tuple[DataFrame, DataFrame]:
    """Components of `graph`: (node, comp) and (comp, size, anchors, conflict, oversize)."""
    labels, iters = connected_components(graph, max_iter)
    stats.cc_iterations += iters
    nodes = labels.join(weights, "node", "left").select(
        "node", "comp", F.coalesce("w", F.lit(1)).alias("w"), F.coalesce("is_anchor", F.lit(0)).alias("is_anchor"))
    comps = nodes.groupBy("comp").agg(F.sum("w").alias("size"), F.sum("is_anchor").alias("anchors")) \
        .withColumn("conflict", F.col("anchors") > 1).withColumn("oversize", F.col("size") > max_size)
    return labels, comps.localCheckpoint()


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # keep the smaller id as the root: the component label is its minimum
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo


def split_components(edges: Sequence[tuple[str, str, float, bool]], weights: Mapping[str, tuple[int, int]],
                     thresholds: Sequence[float], max_size: int) -> tuple[list[tuple[str, str]], list[dict]]:
    """Split bad components (driver side, for the few the guard finds).

    edges: (a, b, p, to_anchor); weights: node -> (records, is_anchor) for anchor nodes (others
    count 1 record, 0 anchors). At each threshold only edges with p >= threshold are kept;
    components that are fine are final, the others go on to the next threshold; the last resort
    keeps only record -> anchor edges (each record has at most one), so no conflict can remain.
    Returns ((node, comp) for nodes still linked to something, unsplittable oversize components).
    Nodes not returned lost every edge: singletons.
    """
    out: list[tuple[str, str]] = []
    pending = list(edges)
    unsplittable: list[dict] = []
    for thr in [*thresholds, None]:
        keep = [e for e in pending if (e[3] if thr is None else e[2] >= thr)]
        uf = _UnionFind()
        for a, b, _p, _t in keep:
            uf.union(a, b)
        comps: dict[str, list[str]] = {}
        for node in list(uf.parent):
            comps.setdefault(uf.find(node), []).append(node)
        still: set[str] = set()
        for root, nodes in comps.items():
            size = sum(weights.get(n, (1, 0))[0] for n in nodes)
            anchors = sum(weights.get(n, (1, 0))[1] for n in nodes)
            if (anchors > 1 or size > max_size) and thr is not None:
                still.update(nodes)
            else:
                out.extend((n, root) for n in nodes)
                if size > max_size:
                    unsplittable.append({"cluster_id": root, "records": size, "anchors": anchors})
        pending = [e for e in pending if e[0] in still]
        if not pending:
            break
    return out, sorted(unsplittable, key=lambda c: (-c["records"], c["cluster_id"]))[:100]


def _split_in_spark(sub: DataFrame, weights: DataFrame, thresholds: Sequence[float], max_size: int,
                    max_iter: int, stats: ResolveStats) -> list[DataFrame]:
    """The same as :func:`split_components`, in Spark, for when the bad components are large."""
    parts = []
    for thr in [*thresholds, None]:
        # last resort (None): no record-to-record edges; every record keeps only its best anchor
        cur = (sub.where(F.col("to_anchor")) if thr is None else sub.where(F.col("p") >= thr)).localCheckpoint()
        if cur.limit(1).count() == 0:
            if thr is None:
                break
            continue
        lab, cmp_ = _components_with_stats(cur, weights, max_size, max_iter, stats)
        still = cmp_.where(F.col("conflict") | F.col("oversize"))
        if thr is None or still.limit(1).count() == 0:
            parts.append(lab.select("node", "comp"))
            if thr is None:
                stats.unsplittable_components = [
                    {"cluster_id": r["comp"], "records": int(r["size"]), "anchors": int(r["anchors"])}
                    for r in still.orderBy(F.desc("size"), "comp").limit(100).collect()]
            break
        parts.append(lab.join(still.select("comp"), "comp", "left_anti").select("node", "comp"))
        still_nodes = lab.join(still.select("comp"), "comp", "left_semi").select(F.col("node").alias("a"))
        # nodes of `sub` outside `lab` lost all their edges at this level: singletons, dropped here
        sub = sub.join(still_nodes, "a", "left_semi").localCheckpoint()
    return parts


def _guarded_components(graph: DataFrame, weights: DataFrame, s: Mapping[str, Any],
                        stats: ResolveStats) -> DataFrame:
    """node -> comp after the guard, with p = best probability of an edge kept inside the comp."""
    max_size, max_iter = int(s["max_cluster_size"]), int(s["max_cc_iterations"])
    labels, comps = _components_with_stats(graph, weights, max_size, max_iter, stats)
    bad = comps.where(F.col("conflict") | F.col("oversize"))
    n_bad = bad.count()
    final = labels
    if n_bad:
        stats.conflict_components = bad.where("conflict").count()
        over = bad.where("oversize").orderBy(F.desc("size"), "comp").limit(1000).collect()
        stats.oversize_components = [{"cluster_id": r["comp"], "records": int(r["size"]), "anchors": int(r["anchors"])}
                                     for r in over]
        if over and s["oversize_action"] == "fail":
            raise OversizeClusterError(
                f"{len(over)} cluster(s) exceed max_cluster_size={max_size}: {stats.oversize_components[:5]}",
                stats.oversize_components)
        if over:
            log.warning("resolver: %d oversize components split: %s", len(over), stats.oversize_components[:5])
        good = labels.join(bad.select("comp"), "comp", "left_anti").select("node", "comp")
        bad_nodes = labels.join(bad.select("comp"), "comp", "left_semi").select("node").localCheckpoint()
        sub = graph.join(bad_nodes.withColumnRenamed("node", "a"), "a", "left_semi").localCheckpoint()
        parts = [good]
        thresholds = [float(t) for t in s["split_thresholds"]]
        if sub.count() <= int(s["local_split_max_edges"]):
            # bad components are few and small: split them on the driver (union-find)
            w = {r["node"]: (int(r["w"]), int(r["is_anchor"]))
                 for r in weights.join(bad_nodes, "node", "left_semi").collect()}
            edges = [(r["a"], r["b"], float(r["p"]), bool(r["to_anchor"])) for r in sub.collect()]
            mapping, unsplittable = split_components(edges, w, thresholds, max_size)
            stats.unsplittable_components = unsplittable
            if mapping:
                parts.append(graph.sparkSession.createDataFrame(mapping, "node string, comp string"))
        else:
            parts.extend(_split_in_spark(sub, weights, thresholds, max_size, max_iter, stats))
        final = parts[0]
        for p in parts[1:]:
            final = final.unionByName(p)
        # nodes of bad components that lost every edge are not in `final`: they become singletons
    final = final.localCheckpoint()
    # best probability of a kept edge (both ends in the same final component), per node
    comp_of = final.select(F.col("node"), F.col("comp"))
    g = (graph.join(comp_of.select(F.col("node").alias("a"), F.col("comp").alias("ca")), "a")
         .join(comp_of.select(F.col("node").alias("b"), F.col("comp").alias("cb")), "b")
         .where(F.col("ca") == F.col("cb")))
    best = g.select(F.col("a").alias("node"), "p").unionByName(g.select(F.col("b").alias("node"), "p")) \
        .groupBy("node").agg(F.max("p").alias("p"))
    return final.join(best, "node", "left")
