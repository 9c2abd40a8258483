"""Silver standardisers: pure ``Column -> Column`` functions built only from Spark native functions.

Every rule implements a fact from ``docs/domain.md`` (cited in each docstring). No Python
UDFs: lookup tables are computed once in Python (``functools.lru_cache``) from
:mod:`lakehouse.reference` and ``unicodedata``, then embedded as literal maps / regexes /
``translate`` tables. Every standardiser is idempotent on its canonical output field.

Two Spark details shape the code:

* Spark 4 raises ``MALFORMED_CHARACTER_CODING`` from ``encode``/``decode`` on unmappable input
  (``spark.sql.legacy.codingErrorAction`` is off), and Java's windows-1252 has no mapping for the
  five undefined bytes 0x81 0x8D 0x8F 0x90 0x9D, which the mojibake of Đ Á Í Ý ề ọ ỏ Ố ờ contains.
  So mojibake is repaired by translating the cp1252-specific characters back to their byte values
  (U+0080..U+009F), encoding with ISO-8859-1 (exact byte images, never fails on U+0000..U+00FF)
  and keeping the result only when ``try_validate_utf8`` accepts it (docs/domain.md#mojibake).
* Catalyst expressions are trees, so a value used several times by later steps is copied. To keep
  plans small, multi-step rules bind an intermediate value once with ``_let`` (a one-element
  ``transform``), which is evaluated without code generation but avoids exponential plan growth
  (see :mod:`lakehouse.silver.standardise._expr`).

Modules, one per field family (this package re-exports their public functions):

* :mod:`._expr` - shared expression plumbing (``_pre`` / ``_let``, literal maps and arrays);
* :mod:`.text` - mojibake repair, NFC, tone placement, folding;
* :mod:`.names` - personal names;
* :mod:`.dates` - dates;
* :mod:`.identifiers` - CCCD, CMND, tax code (MST), social / health insurance numbers;
* :mod:`.phone` - phone numbers;
* :mod:`.demographics` - sex and ethnicity;
* :mod:`.address` - abbreviations, unit keys and the mapping to the 2025 units.

Known limitation: upper-cased mojibake ("NGUYá»…N" upper-cased after mis-decoding) is not repaired;
the bytes are partly lost and the name is then not idempotent.
"""

from __future__ import annotations

from lakehouse.silver.standardise.address import (
    admin_units_frame,
    expand_address_abbreviations,
    new_units_frame,
    standardise_address,
    unit_key,
)
from lakehouse.silver.standardise.dates import parse_date
from lakehouse.silver.standardise.demographics import (
    DEFAULT_SEX_CODES,
    standardise_ethnicity,
    standardise_sex,
)
from lakehouse.silver.standardise.identifiers import (
    GSO_PROVINCE_CODES,
    TAX_WEIGHTS,
    standardise_cccd,
    standardise_cmnd,
    standardise_insurance_number,
    standardise_tax_code,
)
from lakehouse.silver.standardise.names import standardise_name
from lakehouse.silver.standardise.phone import standardise_phone
from lakehouse.silver.standardise.text import fold, nfc, repair_mojibake, to_new_tone

__all__ = [
    "DEFAULT_SEX_CODES",
    "GSO_PROVINCE_CODES",
    "TAX_WEIGHTS",
    "admin_units_frame",
    "expand_address_abbreviations",
    "fold",
    "new_units_frame",
    "nfc",
    "parse_date",
    "repair_mojibake",
    "standardise_address",
    "standardise_cccd",
    "standardise_cmnd",
    "standardise_ethnicity",
    "standardise_insurance_number",
    "standardise_name",
    "standardise_phone",
    "standardise_sex",
    "standardise_tax_code",
    "to_new_tone",
    "unit_key",
]
