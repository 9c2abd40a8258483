"""Keyed pseudonyms and field encryption as native Spark columns, with the key kept out of plans.

How the key stays out of Spark plans (explain output, the SQL tab of the UI, event logs):
a literal key in an expression (``F.lit(key)``) is printed by every plan string. Instead the working
keys live in a one-row DataFrame built from local data through the JVM (a ``LocalRelation``; plans
print its attributes, ``LocalRelation [__lk_hi_cccd#12, ...]`` / ``LocalTableScan [...]``, never its
rows). :func:`with_keys` broadcast-cross-joins that row onto the data and the expressions below refer
to the key *columns*; :func:`drop_keys` removes them again. Building the row through py4j (not
``spark.createDataFrame``) also keeps the key bytes out of the temporary files PySpark uses to ship
local data to the JVM. Spark's redaction regexes (lakehouse.session) are a second line of defence.

- :func:`pseudonymise` HMAC-SHA256 (hex) per identifier kind, computed natively:
  ``H((K ^ opad) || H((K ^ ipad) || m))`` with ``sha2``/``unhex``/``concat``; the key frame holds the
  padded keys ``K ^ ipad`` and ``K ^ opad`` of the pseudonym key version, one pair per kind. Equals
  ``hmac.new(K, m, sha256).hexdigest()`` (tested).
- :func:`encrypt` / :func:`decrypt` AES-256-GCM with Spark's ``aes_encrypt`` / ``aes_decrypt``:
  ciphertext = ``0x01 | key version (2 bytes, big-endian) | IV (12) | ciphertext | tag (16)``; the
  3-byte header and the field label are bound in as additional authenticated data, so a ciphertext
  cannot be moved to another field or relabelled with another key version.

Column functions need the key columns: use :func:`protect_columns` / :func:`decrypt_columns`, or
``with_keys(df, keyring)`` ... ``drop_keys(df)`` around your own expressions.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, MapType, StringType, StructField, StructType

from lakehouse.security.keys import DEFAULT_KINDS, HMAC_BLOCK, Keyring

KEY_PREFIX = "__lk_"
HEADER_FORMAT = 1
GCM = "GCM"
_DEC = f"{KEY_PREFIX}dec"
_ENC_KEY = f"{KEY_PREFIX}enc_key"
_ENC_HDR = f"{KEY_PREFIX}enc_hdr"


def header(version: int) -> bytes:
    return bytes([HEADER_FORMAT]) + int(version).to_bytes(2, "big")


def _pads(key: bytes) -> tuple[bytes, bytes]:
    k = key.ljust(HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in k), bytes(b ^ 0x5C for b in k)


def _hi(kind: str) -> str:
    return f"{KEY_PREFIX}hi_{kind}"


def _ho(kind: str) -> str:
    return f"{KEY_PREFIX}ho_{kind}"


def local_frame(spark: SparkSession, rows: Sequence[Sequence], schema: StructType) -> DataFrame:
    """A DataFrame over local rows, built in the JVM (LocalRelation): its values never appear in plan
    strings and never pass through PySpark's temporary files. Values: str, int, float, bool, bytes,
    None, or dict (for map columns)."""
    jvm = spark._jvm
    gateway = spark.sparkContext._gateway
    jrows = jvm.java.util.ArrayList()
    for row in rows:
        arr = gateway.new_array(jvm.java.lang.Object, len(schema.fields))
        for i, value in enumerate(row):
            if isinstance(value, (bytes, bytearray)):
                value = bytearray(value)
            elif isinstance(value, dict):
                jmap = jvm.java.util.HashMap()
                for k, v in value.items():
                    jmap.put(k, bytearray(v) if isinstance(v, (bytes, bytearray)) else v)
                value = jmap
            arr[i] = value
        jrows.add(jvm.org.apache.spark.sql.RowFactory.create(arr))
    jschema = jvm.org.apache.spark.sql.types.DataType.fromJson(schema.json())
    return DataFrame(spark._jsparkSession.createDataFrame(jrows, jschema), spark)


def key_frame(spark: SparkSession, keyring: Keyring) -> DataFrame:
    """The one-row frame of working keys (see the module docstring). Never show or collect it."""
    fields, values = [], []
    for kind in sorted(keyring.kinds):
        inner, outer = _pads(keyring.hmac_key(kind))
        fields += [StructField(_hi(kind), BinaryType(), False), StructField(_ho(kind), BinaryType(), False)]
        values += [inner, outer]
    fields += [StructField(_ENC_KEY, BinaryType(), False), StructField(_ENC_HDR, BinaryType(), False),
               StructField(_DEC, MapType(StringType(), BinaryType(), False), False)]
    values += [keyring.aes_key(), header(keyring.active),
               {header(v).hex().upper(): keyring.aes_key(v) for v in keyring.versions}]
    return local_frame(spark, [values], StructType(fields))


def with_keys(df: DataFrame, keyring: Keyring) -> DataFrame:
    """`df` plus the hidden key columns (broadcast cross join with the one-row key frame)."""
    return drop_keys(df).crossJoin(F.broadcast(key_frame(df.sparkSession, keyring)))


def drop_keys(df: DataFrame) -> DataFrame:
    hidden = [c for c in df.columns if c.startswith(KEY_PREFIX)]
    return df.drop(*hidden) if hidden else df


def _col(c: Column | str) -> Column:
    return F.col(c) if isinstance(c, str) else c


def normalise(col: Column | str, normaliser: str) -> Column:
    """Spark twin of keys.normalise_value: digits = ASCII digits only; text = whitespace runs folded to
    one space, trimmed, upper case. Empty results become null."""
    c = _col(col).cast("string")
    if normaliser == "digits":
        n = F.regexp_replace(c, "[^0-9]", "")
    elif normaliser == "text":
        n = F.upper(F.trim(F.regexp_replace(c, "[ \\t\\n\\x0B\\f\\r]+", " ")))
    else:
        raise ValueError(f"unknown normaliser '{normaliser}'")
    return F.when(n != "", n)


def pseudonymise(col: Column | str, kind: str, normaliser: str | None = None) -> Column:
    """Keyed HMAC-SHA256 (64 lowercase hex characters) of the normalised value, with the key of
    `kind`. Needs the key columns (:func:`with_keys`). Null or empty values give null."""
    normaliser = normaliser or DEFAULT_KINDS.get(kind)
    if normaliser is None:
        raise ValueError(f"kind '{kind}' has no default normaliser; pass normaliser='digits' or 'text'")
    message = normalise(col, normaliser).cast("binary")
    inner = F.unhex(F.sha2(F.concat(F.col(_hi(kind)), message), 256))
    return F.sha2(F.concat(F.col(_ho(kind)), inner), 256)


def encrypt(col: Column | str, label: str = "") -> Column:
    """AES-256-GCM of the value as UTF-8 text under the active key version, with a random IV;
    `label` (the field's name) is authenticated with the header. Null stays null."""
    plain = _col(col).cast("string").cast("binary")
    hdr = F.col(_ENC_HDR)
    aad = F.concat(hdr, F.lit(label.encode("utf-8")))
    return F.concat(hdr, F.aes_encrypt(plain, F.col(_ENC_KEY), F.lit(GCM), F.lit("DEFAULT"), F.lit(b""), aad))


def key_version(col: Column | str) -> Column:
    """The key version in a ciphertext's header (null for null)."""
    c = _col(col)
    return F.conv(F.hex(c.substr(F.lit(2), F.lit(2))), 16, 10).cast("int")


def decrypt(col: Column | str, label: str = "", strict: bool = True) -> Column:
    """Plain text of a ciphertext made by :func:`encrypt` with the same `label`, under whichever
    key version its header names. strict: a ciphertext whose version is not in the keyring, or whose
    tag does not verify, fails the query; otherwise it gives null."""
    c = _col(col)
    hdr = c.substr(F.lit(1), F.lit(3))
    key = F.try_element_at(F.col(_DEC), F.hex(hdr))
    body = c.substr(F.lit(4), F.length(c) - 3)
    aad = F.concat(hdr, F.lit(label.encode("utf-8")))
    fn = F.aes_decrypt if strict else F.try_aes_decrypt
    plain = fn(body, key, F.lit(GCM), F.lit("DEFAULT"), aad).cast("string")
    if not strict:
        return F.when(c.isNotNull() & key.isNotNull(), plain)
    return (F.when(c.isNull(), F.lit(None).cast("string"))
            .when(key.isNull(), F.raise_error(F.lit("ciphertext key version is not in the keyring "
                                                    "(or the value is not lakehouse ciphertext)")).cast("string"))
            .otherwise(plain))


def reencrypt(col: Column | str, label: str = "") -> Column:
    """Decrypt under any known version, encrypt under the active one (key rotation)."""
    return encrypt(decrypt(col, label), label)


Spec = Mapping[str, "str | tuple[str, str]"]


def _outputs(spec: Spec | Iterable[str] | None, suffix: str) -> dict[str, tuple[str, str]]:
    """{column: (kind or label, output column)} from a list of columns or a {column: kind} /
    {column: (kind, output)} mapping. The default output is ``<column><suffix>``."""
    if not spec:
        return {}
    items = spec.items() if isinstance(spec, Mapping) else ((c, c) for c in spec)
    out = {}
    for column, value in items:
        kind, name = (value if isinstance(value, (tuple, list)) else (value, f"{column}{suffix}"))
        out[column] = (str(kind), str(name))
    return out


def protect_columns(df: DataFrame, keyring: Keyring, pseudonymise: Spec | None = None,
                    encrypt: Spec | Iterable[str] | None = None, drop_clear: bool = True,
                    token_suffix: str = "_token", enc_suffix: str = "_enc") -> DataFrame:
    """Pseudonymise and/or encrypt columns in one pass (one broadcast join with the key frame).

    pseudonymise: {column: kind} -> ``<column>_token``, or {column: (kind, output)}.
    encrypt: [column] or {column: label} -> ``<column>_enc``, or {column: (label, output)}. The label
    is authenticated with the ciphertext; :func:`decrypt_columns` derives it from the output name
    (``name_enc`` -> ``name``), so keep output = ``<label>_enc``.
    drop_clear: drop the clear columns afterwards (default: gold must not hold them).

    Gold's citizen dimension, for example::

        protect_columns(df, ring, pseudonymise={"cccd": "cccd", "phone": "phone",
                                                "name_folded": ("name", "name_token")},
                        encrypt={"cccd": "cccd", "full_name": ("name", "name_enc")})
    """
    tokens = _outputs(pseudonymise, token_suffix)
    crypt = _outputs(encrypt, enc_suffix)
    missing = [c for c in [*tokens, *crypt] if c not in df.columns]
    if missing:
        raise ValueError(f"protect_columns: no such column(s) {missing}; columns are {df.columns}")
    for kind, _ in tokens.values():
        if kind not in keyring.kinds:
            raise ValueError(f"protect_columns: kind '{kind}' is not declared in security.pseudonym_kinds "
                             f"({sorted(keyring.kinds)})")
    clear = set(tokens) | set(crypt)
    keep = [c for c in df.columns if not (drop_clear and c in clear)]
    new = [pseudonymise_col(c, kind, keyring).alias(out) for c, (kind, out) in tokens.items()]
    new += [_encrypt(F.col(f"`{c}`"), label).alias(out) for c, (label, out) in crypt.items()]
    outs = [out for _, out in [*tokens.values(), *crypt.values()]]
    clash = [o for o in outs if o in keep or outs.count(o) > 1]
    if clash:
        raise ValueError(f"protect_columns: output column(s) {sorted(set(clash))} would be duplicated")
    return with_keys(df, keyring).select(*[F.col(f"`{c}`") for c in keep], *new)


def pseudonymise_col(column: str, kind: str, keyring: Keyring) -> Column:
    return _pseudonymise(F.col(f"`{column}`"), kind, keyring.kinds[kind])


def decrypt_columns(df: DataFrame, keyring: Keyring, columns: Mapping[str, str] | Iterable[str],
                    enc_suffix: str = "_enc", strict: bool = True) -> DataFrame:
    """Replace ciphertext columns ``<x>_enc`` by their clear text ``<x>`` (label ``x`` unless a
    {column: label} mapping says otherwise)."""
    spec = dict(columns) if isinstance(columns, Mapping) else {c: c.removesuffix(enc_suffix) for c in columns}
    missing = [c for c in spec if c not in df.columns]
    if missing:
        raise ValueError(f"decrypt_columns: no such column(s) {missing}")
    clash = [c.removesuffix(enc_suffix) for c in spec if c.removesuffix(enc_suffix) in df.columns]
    if clash:
        raise ValueError(f"decrypt_columns: the clear column(s) {clash} already exist")
    exprs = []
    for c in df.columns:
        if c in spec:
            exprs.append(decrypt(F.col(f"`{c}`"), spec[c], strict).alias(c.removesuffix(enc_suffix)))
        else:
            exprs.append(F.col(f"`{c}`"))
    return with_keys(df, keyring).select(*exprs)


def reencrypt_columns(df: DataFrame, keyring: Keyring, columns: Mapping[str, str] | Iterable[str],
                      enc_suffix: str = "_enc") -> DataFrame:
    """Re-encrypt ciphertext columns under the active key version (same names, same labels)."""
    spec = dict(columns) if isinstance(columns, Mapping) else {c: c.removesuffix(enc_suffix) for c in columns}
    exprs = [reencrypt(F.col(f"`{c}`"), spec[c]).alias(c) if c in spec else F.col(f"`{c}`") for c in df.columns]
    return with_keys(df, keyring).select(*exprs)


_pseudonymise = pseudonymise
_encrypt = encrypt
