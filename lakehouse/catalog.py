"""The lake's catalog: every Delta table under the data root, at any depth.

    for t in catalog.tables(cfg, spark):                 # or spark=None: local roots, no JVM
        print(t.qualified_name, t.path, t.personal)      # silver/_staging/id_card/standardised ... True

A table is a directory holding a ``_delta_log``; its layer is the ``paths.<layer>`` it lives under
(bronze, silver, gold, ops) and its name the path below that (``dim_citizen``,
``_staging/id_card/standardised``). Discovery lists directories only (through Hadoop's FileSystem
with a session, the OS without), does not descend into tables and skips hidden (``.``) directories;
underscore directories (``_staging``, ``_quarantine``) are searched like any other.

``personal`` says whether a table holds personal data, by what erasure knows
(:func:`lakehouse.security.tables.personal_data`: the layers erasure searches, its exclusions and
its column conventions). Columns and the flag are read lazily, on first use.

Erasure, maintenance, role-based views and the ops report all take their tables from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

from lakehouse.storage import delta, fs
from lakehouse.storage.uri import join

LAYERS = ("bronze", "silver", "gold", "ops")
DELTA_LOG = delta.DELTA_LOG


@dataclass
class Table:
    """One Delta table of the lake."""

    layer: str
    name: str                    # path below the layer root, "/"-separated
    path: str                    # storage path (local path or URI)
    spark: Any = field(default=None, repr=False, compare=False)
    cfg: Any = field(default=None, repr=False, compare=False)

    @property
    def qualified_name(self) -> str:
        """``<layer>/<name>``: the name policies, audit records and erasure reports use."""
        return f"{self.layer}/{self.name}"

    @property
    def nested(self) -> bool:
        return "/" in self.name

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(delta.columns(self.spark, self.path))

    @cached_property
    def personal(self) -> bool:
        """Whether the table holds personal data (see the module docstring). A table whose schema
        cannot be read counts as personal when erasure would search it."""
        if self.cfg is None:
            raise ValueError(f"{self.qualified_name}: the personal-data flag needs the config")
        from lakehouse.security.tables import personal_data

        try:
            cols: tuple[str, ...] | None = self.columns
        except Exception:  # noqa: BLE001 - a broken or half-written table: decide from its name
            cols = None
        return personal_data(self.cfg, self.qualified_name, cols)


def scan(root: str, layer: str, spark: Any = None, cfg: Any = None) -> list[Table]:
    """Every Delta table below ``root`` (at any depth), in depth-first order of sorted names."""
    found: list[Table] = []

    def walk(path: str, rel: str) -> None:
        children = fs.list_dirs(spark, path)
        if DELTA_LOG in children:
            if rel:
                found.append(Table(layer, rel, path, spark, cfg))
            return
        for child in children:
            if not child.startswith("."):
                walk(join(path, child), f"{rel}/{child}" if rel else child)

    walk(str(root).rstrip("/"), "")
    return found


def tables(cfg: Any, spark: Any = None, layers: Iterable[str] | None = None) -> list[Table]:
    """The tables of the given layers (default: all of :data:`LAYERS`), layer by layer in that order;
    layers without a ``paths.<layer>`` entry are skipped."""
    out: list[Table] = []
    for layer in (LAYERS if layers is None else layers):
        root = cfg.paths.get(layer)
        if root is not None:
            out.extend(scan(str(root), layer, spark, cfg))
    return out


def table(cfg: Any, name: str, spark: Any = None) -> Table | None:
    """The table named ``<layer>/<name>`` (or ``<layer>.<name>``), if it exists."""
    layer, _, rest = name.partition("/") if "/" in name else name.partition(".")
    return next((t for t in tables(cfg, spark, [layer]) if t.name == rest), None)
