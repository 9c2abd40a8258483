"""The resolver's model, as data: comparison levels (SQL over ``<col>_l`` / ``<col>_r``), the
default settings with their m/u values, the settings merge and validation (a bad value raises
:class:`~lakehouse.errors.ConfigError` naming its config key), the per-entity specs, and the
Splink settings dict built from them (plain data: Splink itself is only imported by
:mod:`lakehouse.gold.resolve.splink_adapter`).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from pyspark.sql import DataFrame

from lakehouse.errors import ConfigError
from lakehouse.gold.resolve.prepare import _prepare_enterprises, _prepare_people

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


# --------------------------------------------------------------------------- entity specs

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


# --------------------------------------------------------------------------- Splink settings

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
