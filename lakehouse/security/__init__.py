"""Security and governance: keys, pseudonyms and encryption, role-based reads, audit, erasure.

- :mod:`.keys`    key material (key file or environment), derived keys, rotation
- :mod:`.protect` keyed pseudonyms (HMAC-SHA256) and AES-GCM encryption as native Spark columns
- :mod:`.access`  role policies from config: column masks, denials, row filters; audited reads
- :mod:`.audit`   the append-only ``ops/audit_log`` Delta table and ``audited_run`` for jobs
- :mod:`.erase`   right to erasure across every layer, with physical removal of old files
"""
