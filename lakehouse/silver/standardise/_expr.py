"""Shared expression plumbing of the standardisers (Spark-internal details live here).

``_pre`` (a value computed by generated code in a projection below the current one) and ``_let``
(bind a value once: a one-element ``transform``) keep the expression trees of multi-step rules
linear; ``_literal_map`` / ``_literal_array`` embed lookup tables as ONE constant-folded leaf.
See the package docstring for why, and docs/design.md for the silver design.
"""

from __future__ import annotations

from typing import Callable, Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F

ColumnOrName = Column | str


def _col(c: ColumnOrName) -> Column:
    return F.col(c) if isinstance(c, str) else c


def _rx_class(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):X}}}" for c in sorted(set(chars)))


def _literal_map(pairs: Mapping[str, str] | list[tuple[str, str]]) -> Column:
    """A literal ``map<string,string>`` as ONE leaf of the expression tree (``str_to_map`` of a
    literal, constant-folded by the optimizer): ``create_map`` would add two leaves per entry to
    every copy of the expression that uses it."""
    items = list(pairs.items() if isinstance(pairs, Mapping) else pairs)
    bad = [(k, v) for k, v in items if "\x01" in k + v or "\x02" in k + v]
    if bad:
        raise ValueError(f"literal map entries must not contain \\x01 or \\x02: {bad[:3]!r}")
    body = "\x01".join(f"{k}\x02{v}" for k, v in items)
    return F.str_to_map(F.lit(body), F.lit("\x01"), F.lit("\x02"))


def _literal_array(values: list[str]) -> Column:
    """A literal ``array<string>`` as ONE leaf of the expression tree (``split`` of a literal,
    constant-folded), for O(1) lookups by position."""
    bad = [v for v in values if "\x01" in v]
    if bad:
        raise ValueError(f"literal array values must not contain \\x01: {bad[:3]!r}")
    return F.split(F.lit("\x01".join(values)), "\x01")


def _let(value: Column, fn: Callable[[Column], Column]) -> Column:
    """``fn(x)`` with ``x`` bound to ``value``, like SQL ``LET``: a one-element ``transform``.

    The only binding construct Spark offers that keeps the expression TREE linear: without it,
    every use of ``x`` copies ``value``'s whole subtree, the copies multiply across the steps of
    a rule, and analysing/optimising the plan takes seconds to minutes (an inlined
    ``standardise_name`` had 730k leaves). ``fn`` and ``value`` run interpreted (higher-order
    functions have no code generation in Spark 4.1), so keep both cheap, or compute ``value``
    with :func:`_pre`.
    """
    return F.transform(F.array(value), fn)[0]


def _pre(value: Column, never: Column | str = "") -> Column:
    """``value`` evaluated by generated code in a projection BELOW the current one.

    ``NULLIF(value, never)`` is a ``With`` expression; the optimizer (``RewriteWithExpression``)
    moves its operand into a new projection underneath when it sits in an always-evaluated
    position (not inside a CASE branch), and the rest of the plan reads it as a column. Used for
    the argument of :func:`_let`: the heavy, linear part of a rule then runs with code generation
    and the interpreted lambda only sees a column. ``value`` must never equal ``never`` (the
    result would be null).
    """
    return F.nullif(value, never if isinstance(never, Column) else F.lit(never))


def _blank_to_null(c: Column) -> Column:
    """'' -> null. ``c`` is evaluated twice: pass a bound (lambda) variable or a column."""
    return F.when(F.length(c) > 0, c)
