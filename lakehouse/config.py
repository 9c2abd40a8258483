"""Configuration: Hydra composition for tests and notebooks, and typed views of the source specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from omegaconf import DictConfig, OmegaConf

from lakehouse.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

FORMATS = ("csv", "json", "xml", "parquet", "jdbc")
ENTITIES = ("person", "enterprise")


def compose(overrides: Iterable[str] = (), config_dir: str | Path | None = None) -> DictConfig:
    """Compose the root config with Hydra's Compose API (for tests and notebooks)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(Path(config_dir or CONF_DIR).resolve()), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=list(overrides))


@dataclass(frozen=True)
class SourceSpec:
    """One source system, as declared in conf/sources/<name>.yaml."""

    name: str
    title: str
    entity: str
    format: str
    key: str
    updated_at: str
    op: str
    share_millions: float
    reader: dict[str, Any] = field(default_factory=dict)
    encoding: str = "utf-8"
    row_tag: str | None = None
    table: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    schema: dict[str, str] = field(default_factory=dict)
    generator: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_database(self) -> bool:
        return self.format == "jdbc"

    def column(self, canonical: str) -> str | None:
        """The source's own column name for a canonical field (None if the source lacks it)."""
        return self.columns.get(canonical)


def _require(spec: dict[str, Any], key: str, name: str) -> Any:
    if spec.get(key) in (None, ""):
        raise ConfigError(f"conf/sources/{name}.yaml: required key '{key}' is missing")
    return spec[key]


def source_spec(name: str, node: Any) -> SourceSpec:
    """Validate and type one source's config node."""
    spec = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    fmt = spec.get("format", {}) or {}
    ftype = _require(fmt, "type", name) if isinstance(fmt, dict) else None
    if ftype not in FORMATS:
        raise ConfigError(f"conf/sources/{name}.yaml: format.type '{ftype}' is not one of {FORMATS}")
    entity = _require(spec, "entity", name)
    if entity not in ENTITIES:
        raise ConfigError(f"conf/sources/{name}.yaml: entity '{entity}' is not one of {ENTITIES}")
    if ftype == "xml" and not fmt.get("row_tag"):
        raise ConfigError(f"conf/sources/{name}.yaml: an xml source needs format.row_tag")
    if ftype == "jdbc" and not fmt.get("table"):
        raise ConfigError(f"conf/sources/{name}.yaml: a jdbc source needs format.table")
    return SourceSpec(
        name=name,
        title=str(spec.get("title", name)),
        entity=entity,
        format=ftype,
        key=_require(spec, "key", name),
        updated_at=_require(spec, "updated_at", name),
        op=_require(spec, "op", name),
        share_millions=float(spec.get("share_millions", 0.0)),
        reader=dict(fmt.get("options") or {}),
        encoding=str(fmt.get("encoding", "utf-8")),
        row_tag=fmt.get("row_tag"),
        table=fmt.get("table"),
        columns=dict(spec.get("columns") or {}),
        schema=dict(spec.get("schema") or {}),
        generator=dict(spec.get("generator") or {}),
        raw=spec,
    )


def selected_sources(cfg: DictConfig) -> list[SourceSpec]:
    """The sources this run covers: all declared ones, or those named in `only`."""
    declared = dict(cfg.sources)
    only = list(cfg.get("only") or [])
    unknown = [s for s in only if s not in declared]
    if unknown:
        raise ConfigError(f"only={unknown}: no such source; declared sources are {sorted(declared)}")
    names = only or list(declared)
    return [source_spec(n, declared[n]) for n in names]


def table_path(cfg: DictConfig, layer: str, table: str) -> str:
    """A table lives at <root>/<layer>/<table>."""
    return f"{cfg.paths[layer]}/{table}"
