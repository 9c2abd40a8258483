"""The canonical silver model: one row per source record about a person or an enterprise.

These DDL strings are the contract between silver (which writes them), the resolver in
:mod:`lakehouse.gold.resolve` (which reads the identity part) and everything downstream.
Every identifier is optional; ``source`` and ``record_key`` identify a row.
"""

from __future__ import annotations

# Identity fields the resolver uses for people. Values are already standardised:
# name_folded = upper case, no diacritics, single spaces; cccd = valid 12-digit CCCD or null;
# cmnd = 9/12-digit CMND or null; phone = 10-digit national number or null;
# birth_date_precision in ('day', 'month', 'year'); sex in ('M', 'F');
# province_code / ward_code = post-2025 units (2-digit province, 5-digit ward).
PERSON_IDENTITY = (
    "source STRING, record_key STRING, full_name STRING, name_folded STRING, birth_date DATE, "
    "birth_date_precision STRING, sex STRING, cccd STRING, cmnd STRING, phone STRING, "
    "province_code STRING, ward_code STRING, address_text STRING"
)

# Identity fields the resolver uses for enterprises. tax_code = canonical 10-digit MST (a branch
# "-BBB" suffix is kept in branch_code); owner_* describe the legal representative.
ENTERPRISE_IDENTITY = (
    "source STRING, record_key STRING, tax_code STRING, enterprise_name STRING, name_folded STRING, "
    "province_code STRING, address_text STRING, owner_name_folded STRING, owner_cccd STRING, phone STRING"
)
