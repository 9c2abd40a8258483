"""Role-based reads: the policies in ``security.access`` applied to Delta tables.

``read_table(spark, cfg, "gold/dim_citizen", role="provincial_analyst", principal="hanoi_analyst")``
returns the table as that role may see it: denied tables raise :class:`AccessDenied`; denied columns
are left out (asking for one by name raises); masks replace values (``null``, ``redact``, ``year``);
ciphertext columns listed under ``decrypt`` come back in clear (stewards); ``rows`` filters keep the
rows whose column equals the principal's attribute (a principal without it is denied: fail closed).
Every denied read and every privileged read (decryption, a rule marked ``privileged``) writes an
audit record. ``create_role_views`` registers the same policy as temporary views.

Which roles a principal may take is configuration (``security.principals``); roles open to anyone
are listed in ``security.access.open_roles``. This is a policy layer inside the jobs and notebooks
that use the library, not a security boundary against someone holding the storage credentials:
storage permissions (HDFS/S3 ACLs) must keep raw layers away from analysts (see the threat model).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from omegaconf import DictConfig, OmegaConf
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StringType, TimestampNTZType, TimestampType

from lakehouse import catalog
from lakehouse.errors import SecurityError
from lakehouse.security import tables as T
from lakehouse.security.audit import whoami, write_audit
from lakehouse.storage.delta import log_version, read_delta

MASKS = ("null", "redact", "year")
REDACTED = "***"


class AccessDenied(SecurityError, PermissionError):
    """A read the policy does not allow. Names the role, the table and the column or rule."""

    def __init__(self, role: str | None, table: str, rule: str, column: str | None = None,
                 principal: str | None = None):
        self.role, self.table, self.rule, self.column, self.principal = role, table, rule, column, principal
        what = f"column '{column}' of table '{table}'" if column else f"table '{table}'"
        who = f"role '{role}'" + (f" (principal '{principal}')" if principal else "")
        super().__init__(f"access denied: {who} may not read {what}: {rule}")


@dataclass(frozen=True)
class Principal:
    name: str
    roles: tuple[str, ...]
    attributes: Mapping[str, Any]
    declared: bool


@dataclass
class Policy:
    """The rule that decided a read, and what it did (for the audit record)."""

    role: str
    table: str
    pattern: str
    rule: Mapping[str, Any]
    columns: list[str] = field(default_factory=list)
    decrypted: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)

    @property
    def privileged(self) -> bool:
        return bool(self.rule.get("privileged")) or bool(self.decrypted)


def _plain(node: Any) -> Any:
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    if node is None:
        return None
    try:
        return OmegaConf.to_container(node, resolve=True)
    except ValueError:
        return node


def _access(cfg: Any) -> dict[str, Any]:
    sec = cfg.get("security") or {}
    return _plain(sec.get("access")) or {}


def _roles(cfg: Any) -> dict[str, Any]:
    return _access(cfg).get("roles") or {}


def resolve_principal(cfg: Any, principal: str | Mapping[str, Any] | None = None) -> Principal:
    """The principal: the argument (a name, or {'name': ..., attributes...}), else
    security.principal, else the OS user. Roles come only from security.principals."""
    extra: dict[str, Any] = {}
    if isinstance(principal, Mapping):
        extra = {k: v for k, v in principal.items() if k not in ("name", "roles")}
        principal = principal.get("name")
    user, name = whoami(cfg, principal)
    name = name or user
    sec = cfg.get("security") or {}
    declared = _plain(sec.get("principals")) or {}
    entry = declared.get(name)
    if entry is None:
        return Principal(name, (), extra, False)
    entry = dict(entry)
    roles = tuple(entry.pop("roles", ()) or ())
    return Principal(name, roles, {**extra, **entry}, True)  # config wins for declared principals


def resolve_role(cfg: Any, role: str | None, principal: Principal, table: str) -> str:
    sec = cfg.get("security") or {}
    role = role or sec.get("role") or (principal.roles[0] if len(principal.roles) == 1 else None)
    if not role:
        raise AccessDenied(None, table, "no role given (pass role=..., set security.role or LAKEHOUSE_ROLE)",
                           principal=principal.name)
    if role not in _roles(cfg):
        raise AccessDenied(role, table, f"unknown role (declared roles: {sorted(_roles(cfg))})",
                           principal=principal.name)
    if principal.declared:
        if role not in principal.roles:
            raise AccessDenied(role, table, f"principal '{principal.name}' may take roles {list(principal.roles)}",
                               principal=principal.name)
    elif role not in (_access(cfg).get("open_roles") or []):
        raise AccessDenied(role, table, f"role '{role}' requires a principal declared in security.principals",
                           principal=principal.name)
    return role


def decide(cfg: Any, role: str, table: str, principal: str | None = None) -> tuple[str, Mapping[str, Any]]:
    """(pattern, rule) granting `role` the table 'layer/table', or AccessDenied."""
    spec = _roles(cfg).get(role) or {}
    for pattern in spec.get("deny_tables") or []:
        if fnmatch.fnmatchcase(table, pattern):
            raise AccessDenied(role, table, f"deny_tables '{pattern}'", principal=principal)
    for rule in spec.get("tables") or []:
        pattern = rule.get("table")
        if pattern and fnmatch.fnmatchcase(table, pattern):
            for key in (rule.get("mask") or {}).values():
                if key not in MASKS:
                    raise ValueError(f"security.access.roles.{role}: mask '{key}' is not one of {MASKS}")
            return pattern, rule
    raise AccessDenied(role, table, "no rule grants this table (default deny)", principal=principal)


def _matches(column: str, patterns: Iterable[str]) -> str | None:
    for p in patterns or ():
        if fnmatch.fnmatchcase(column, p):
            return p
    return None


def _mask(df: DataFrame, column: str, how: str) -> Column:
    dtype = df.schema[column].dataType
    c = F.col(f"`{column}`")
    if how == "null":
        return F.lit(None).cast(dtype)
    if how == "redact":
        return F.when(c.isNotNull(), F.lit(REDACTED)) if isinstance(dtype, StringType) else F.lit(None).cast(dtype)
    if how == "year":
        if isinstance(dtype, DateType):
            return F.trunc(c, "year")
        if isinstance(dtype, (TimestampType, TimestampNTZType)):
            return F.date_trunc("year", c)
        return F.lit(None).cast(dtype)  # not a date: hide it rather than guess
    raise ValueError(f"mask '{how}' is not one of {MASKS}")


def apply_policy(df: DataFrame, policy: Policy, principal: Principal, keyring_loader=None,
                 columns: Sequence[str] | None = None) -> DataFrame:
    """The table as the rule allows (filters, masks, decryption, column selection)."""
    rule, role, table = policy.rule, policy.role, policy.table
    allowed = rule.get("columns") or ["*"]
    denied: dict[str, str] = {}
    for c in df.columns:
        p = _matches(c, rule.get("deny_columns") or [])
        if p:
            denied[c] = f"deny_columns '{p}'"
        elif not _matches(c, allowed):
            denied[c] = f"not in columns {list(allowed)}"
    decrypt = [c for c in df.columns if c not in denied and _matches(c, rule.get("decrypt") or [])]
    out_name = {c: (c.removesuffix("_enc") if c in decrypt else c) for c in df.columns}
    by_out = {v: k for k, v in out_name.items()}
    if columns is not None:
        for want in columns:
            src = by_out.get(want, want)
            if src in denied:
                raise AccessDenied(role, table, denied[src], column=want, principal=principal.name)
            if src not in df.columns:
                raise ValueError(f"table '{table}' has no column '{want}'")
    # Row filters first (on the stored values), then masks and decryption.
    for column, attr in (rule.get("rows") or {}).items():
        if column not in df.columns:
            raise AccessDenied(role, table, f"row filter column '{column}' is missing (failing closed)",
                               principal=principal.name)
        value = principal.attributes.get(attr)
        if value in (None, "", []):
            raise AccessDenied(role, table, f"row filter needs principal attribute '{attr}', which "
                               f"principal '{principal.name}' lacks", principal=principal.name)
        values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        df = df.where(F.col(f"`{column}`").cast("string").isin(values))
        policy.filters.append(f"{column} in principal.{attr}")
    if rule.get("where"):
        df = df.where(str(rule["where"]))
        policy.filters.append("where")
    masks = rule.get("mask") or {}
    exprs, keep = [], [c for c in df.columns if c not in denied]
    if columns is not None:
        keep = [by_out.get(w, w) for w in columns]
    for c in keep:
        how = masks.get(c) or next((m for p, m in masks.items() if fnmatch.fnmatchcase(c, p)), None)
        if c in decrypt:
            exprs.append(c)  # decrypted below
        elif how:
            exprs.append(_mask(df, c, how).alias(c))
            policy.masked.append(c)
        else:
            exprs.append(F.col(f"`{c}`"))
    df = df.select(*[F.col(f"`{e}`") if isinstance(e, str) else e for e in exprs])
    wanted = [c for c in keep if c in decrypt]
    if wanted:
        from lakehouse.security.protect import decrypt_columns

        if keyring_loader is None:
            raise ValueError("decryption needs a keyring")
        df = decrypt_columns(df, keyring_loader(), wanted)
        policy.decrypted.extend(wanted)
    policy.columns = [out_name[c] for c in keep]
    return df


def _audit(spark: SparkSession, cfg: Any, *, action: str, outcome: str, table: str, role: str | None,
           principal: str | None, version: int | None = None, detail: dict[str, Any] | None = None) -> None:
    write_audit(spark, cfg, action=action, outcome=outcome, job="read_table", target=table, role=role,
                principal=principal, tables_read=[(table, version)] if outcome != "denied" else [],
                detail=detail)


def read_table(spark: SparkSession, cfg: Any, table: str, role: str | None = None,
               principal: str | Mapping[str, Any] | None = None, columns: Sequence[str] | None = None,
               version: int | None = None, keyring=None) -> DataFrame:
    """A table read under a role's policy (see the module docstring). `table` is 'layer/table'."""
    name, path = T.resolve(cfg, table)
    who = resolve_principal(cfg, principal)
    role_used = role
    try:
        role_used = resolve_role(cfg, role, who, name)
        pattern, rule = decide(cfg, role_used, name, who.name)
        policy = Policy(role_used, name, pattern, rule)
        df = read_delta(spark, path, version)
        from lakehouse.security.keys import load_keyring

        loader = (lambda: keyring) if keyring is not None else (lambda: load_keyring(cfg))
        df = apply_policy(df, policy, who, loader, columns)
    except AccessDenied as denied:
        _audit(spark, cfg, action="denied", outcome="denied", table=name, role=denied.role or role_used,
               principal=who.name, detail={"rule": denied.rule, "column": denied.column})
        raise
    all_reads = bool(((cfg.get("security") or {}).get("audit") or {}).get("all_reads"))
    if policy.privileged or all_reads:
        v = version if version is not None else log_version(spark, path)
        _audit(spark, cfg, action="read", outcome="success", table=name, role=role_used, principal=who.name,
               version=v, detail={"rule": pattern, "decrypted": ",".join(policy.decrypted) or None,
                                  "masked": ",".join(policy.masked) or None,
                                  "filters": "; ".join(policy.filters) or None,
                                  "privileged": str(policy.privileged).lower()})
    return df


def view_name(table: str) -> str:
    layer, t = T.split_name(table)
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{layer}_{t}")


def create_role_views(spark: SparkSession, cfg: Any, role: str | None = None,
                      principal: str | Mapping[str, Any] | None = None,
                      layers: Sequence[str] = catalog.LAYERS, keyring=None) -> list[str]:
    """Register a temporary view ``<layer>_<table>`` for every table of the catalog (nested ones
    included: ``silver/_staging/x/checked`` -> ``silver__staging_x_checked``) the role may read, with
    the same policy as read_table (denied tables get no view). Returns the view names.
    Privileged views are audited when created (a view is the grant; reads happen later)."""
    who = resolve_principal(cfg, principal)
    names = []
    for entry in catalog.tables(cfg, spark, layers):
        table = entry.qualified_name
        role_used = resolve_role(cfg, role, who, table)
        try:
            decide(cfg, role_used, table, who.name)
        except AccessDenied:
            continue
        df = read_table(spark, cfg, table, role=role_used, principal=principal, keyring=keyring)
        name = view_name(table)
        df.createOrReplaceTempView(name)
        names.append(name)
    return names
