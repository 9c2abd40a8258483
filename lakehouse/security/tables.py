"""Table names for policies, audit and erasure: ``<layer>/<table>`` <-> storage path, and which tables
hold personal data. The tables themselves are found by :mod:`lakehouse.catalog` (at any depth, so a
name may be nested: ``silver/_staging/id_card/standardised``)."""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Iterable

from lakehouse.catalog import LAYERS
from lakehouse.config import table_path
from lakehouse.storage.delta import log_version as version  # noqa: F401 - T.version(spark, path) for audit

_NAME = re.compile(r"^(?P<layer>[A-Za-z_]+)[./](?P<table>[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*)$")

__all__ = ["LAYERS", "split_name", "resolve", "version", "erasure_settings", "searched_by_erasure",
           "personal_data"]


def split_name(name: str) -> tuple[str, str]:
    """'gold/dim_citizen' or 'gold.dim_citizen' -> ('gold', 'dim_citizen');
    'silver/_staging/id_card/checked' -> ('silver', '_staging/id_card/checked')."""
    m = _NAME.match(name.strip())
    if not m:
        raise ValueError(f"table name '{name}' is not <layer>/<table> (e.g. gold/dim_citizen)")
    return m.group("layer"), m.group("table")


def resolve(cfg: Any, name: str) -> tuple[str, str]:
    """(canonical name 'layer/table', storage path) of a table name."""
    layer, table = split_name(name)
    if layer not in cfg.paths:
        raise ValueError(f"table '{name}': unknown layer '{layer}' (paths has {sorted(cfg.paths)})")
    return f"{layer}/{table}", table_path(cfg, layer, table)


def erasure_settings(cfg: Any) -> dict[str, Any]:
    """``security.erasure`` as a plain dict."""
    from omegaconf import DictConfig, OmegaConf

    node = (cfg.get("security") or {}).get("erasure") or {}
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def searched_by_erasure(cfg: Any, name: str) -> bool:
    """True when erasure searches the table 'layer/table': its layer is in security.erasure.layers and
    no security.erasure.exclude pattern matches it."""
    s = erasure_settings(cfg)
    layer = name.split("/", 1)[0]
    return layer in (s.get("layers") or ["bronze", "silver", "gold"]) and \
        not any(fnmatch.fnmatchcase(name, p) for p in s.get("exclude") or [])


def personal_data(cfg: Any, name: str, columns: Iterable[str] | None, kinds: Iterable[str] | None = None) -> bool:
    """Whether the table 'layer/table' holds personal data, by what erasure knows: it is named in
    security.erasure.extra_targets, or erasure searches it and its columns follow one of the
    conventions erasure matches a person by (golden keys, pseudonyms, source records, clear
    identifiers, raw text; see :func:`lakehouse.security.erase.target_for`). ``columns`` None (the
    schema could not be read) counts as personal when erasure searches the table."""
    from lakehouse.security.erase import LENGTHS, target_for

    s = erasure_settings(cfg)
    if any(resolve(cfg, str(x["table"]))[0] == name for x in s.get("extra_targets") or []):
        return True
    if not searched_by_erasure(cfg, name):
        return False
    if columns is None:
        return True
    kinds = list(kinds or ((cfg.get("security") or {}).get("pseudonym_kinds") or LENGTHS))
    return target_for(cfg, name, "", columns, kinds).matchable
