"""Deterministic pseudo-randomness as Spark column expressions: every value is a hash of
(seed, salt, row ids), so generation needs no state and scales out like any other Spark job."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

_SPAN = 1 << 30


@lru_cache(maxsize=4096)
def _salt(seed: int, salt: str) -> int:
    import zlib

    return zlib.crc32(f"{seed}:{salt}".encode()) - (1 << 31)


def _hash(seed: int, salt: str, *parts: Column) -> Column:
    # One int literal for (seed, salt): cheaper per row than hashing the salt's characters.
    return F.xxhash64(F.lit(_salt(seed, salt)), *parts)


def uniform(seed: int, salt: str, *parts: Column) -> Column:
    """A double in [0, 1)."""
    return F.pmod(_hash(seed, salt, *parts), F.lit(_SPAN)).cast("double") / F.lit(float(_SPAN))


def randint(seed: int, salt: str, n: int | Column, *parts: Column) -> Column:
    """A long in [0, n)."""
    n_col = n if isinstance(n, Column) else F.lit(int(n))
    return F.pmod(_hash(seed, salt, *parts), n_col.cast("long"))


def chance(seed: int, salt: str, rate: float | Column, *parts: Column) -> Column:
    """True with probability `rate`."""
    rate_col = rate if isinstance(rate, Column) else F.lit(float(rate))
    return uniform(seed, salt, *parts) < rate_col


def _sql_literal(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        return f"{v!r}D"
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


@lru_cache(maxsize=512)
def array_literal(values: tuple) -> Column:
    # One SQL expression instead of one py4j call per element: pools of thousands build instantly.
    return F.expr("array(" + ",".join(_sql_literal(v) for v in values) + ")")


def pick(values: Sequence, index: Column) -> Column:
    """values[index] for a 0-based index column; the literal array is folded into the plan once."""
    return F.element_at(array_literal(tuple(values)), (index + F.lit(1)).cast("int"))


def urn(values: Sequence, weights: Sequence[float], size: int = 1024) -> list:
    """A list of `size` values in which each value appears in proportion to its weight, so that a
    uniform index into it is a weighted draw (largest-remainder rounding, every value at least once
    when size allows)."""
    total = float(sum(weights))
    quotas = [w / total * size for w in weights]
    counts = [int(q) for q in quotas]
    order = sorted(range(len(values)), key=lambda i: quotas[i] - counts[i], reverse=True)
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    out: list = []
    for v, c in zip(values, counts):
        out.extend([v] * c)
    return out


def weighted(seed: int, salt: str, values: Sequence, weights: Sequence[float], *parts: Column,
             size: int = 1024) -> Column:
    """A weighted draw from `values`."""
    table = urn(values, weights, size)
    return pick(table, randint(seed, salt, len(table), *parts))


def coprime_step(n: int, seed: int) -> int:
    """A multiplier coprime with n, for the permutation r -> (a*r + b) mod n."""
    import math

    a = (0x9E3779B1 + seed * 2654435761) % max(n, 2) or 1
    while math.gcd(a, n) != 1:
        a += 1
    return a


def permute(index: Column, n: int, seed: int, salt: str) -> Column:
    """A bijection of [0, n): distinct rows map to distinct entities."""
    import zlib

    a = coprime_step(n, seed + zlib.crc32(salt.encode()))
    b = (seed * 7919 + zlib.crc32(salt.encode())) % max(n, 1)
    return F.pmod(index * F.lit(a) + F.lit(b), F.lit(n))
