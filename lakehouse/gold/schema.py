"""Contracts of the gold tables (paths: ``gold/<name>``). Gold holds no clear personal identifiers:
people are keyed by a stable pseudonymous ``citizen_key``; CCCD/CMND/phone/BHXH/personal tax codes
appear only as keyed HMAC tokens (``*_token``) or AES-GCM ciphertext (``*_enc``, stewards only).
"""

from __future__ import annotations

# One row per resolved person. <attr>_source = the source whose value survived.
DIM_CITIZEN = (
    "citizen_key STRING, name_enc BINARY, name_token STRING, cccd_token STRING, cccd_enc BINARY, "
    "phone_token STRING, birth_date DATE, birth_date_precision STRING, birth_year INT, sex STRING, "
    "ethnicity STRING, province_code STRING, ward_code STRING, status STRING, death_date DATE, "
    "is_employed BOOLEAN, employer_key STRING, is_insured BOOLEAN, has_health_card BOOLEAN, "
    "receives_benefits BOOLEAN, n_sources INT, n_records INT, "
    "name_source STRING, birth_date_source STRING, sex_source STRING, province_source STRING, "
    "status_source STRING, _run_id STRING"
)
# status in ('alive', 'deceased').

# One row per resolved enterprise. Enterprise tax codes and names are public registry data.
DIM_ENTERPRISE = (
    "enterprise_key STRING, tax_code STRING, enterprise_name STRING, sector STRING, province_code STRING, "
    "status STRING, founded_date DATE, dissolved_date DATE, employees INT, capital DOUBLE, "
    "owner_citizen_key STRING, n_tax_filings INT, n_late_filings INT, last_filing_period STRING, "
    "revenue_last DOUBLE, n_sources INT, n_records INT, name_source STRING, status_source STRING, _run_id STRING"
)
# status in ('active', 'suspended', 'dissolved').

# (source, record_key) -> golden key, for every silver record.
XREF_CITIZEN = "source STRING, record_key STRING, citizen_key STRING, match_method STRING, match_probability DOUBLE"
XREF_ENTERPRISE = "source STRING, record_key STRING, enterprise_key STRING, match_method STRING, match_probability DOUBLE"
# match_method in ('cccd', 'tax_code', 'probabilistic', 'singleton').

# Per source and run: the four criteria 0..100, the overall score and its rules.
DQ_SCORECARD = (
    "run_id STRING, run_at TIMESTAMP, source STRING, criterion STRING, score DOUBLE, rules ARRAY<STRING>, "
    "rows LONG, violations LONG, previous_score DOUBLE, trend DOUBLE"
)
# criterion in ('dung', 'du', 'sach', 'song', 'overall').
