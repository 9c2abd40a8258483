"""Entity resolution (the public face of this package): silver identity records -> clusters of records about the same citizen or firm.

Pure DataFrame-in / DataFrame-out (plus a stats object). Two steps, as in docs/design.md
(#gold-entity-resolution-golden-records-insights-scorecard):

1. **Exact anchor.** Records that carry the validated identifier (CCCD for people, the 10-digit
   MST for enterprises) are grouped by it. Every distinct identifier is an *anchor*; two different
   anchors never end up in one cluster (cannot-link).
2. **Probabilistic (Fellegi-Sunter) linkage** of the records *without* the identifier, scored by
   Splink 5 on its Spark backend. Blocking is done here, natively, so that only pairs with at least
   one unanchored side are generated (a pair of two anchored records is already settled: same
   identifier = same cluster, different identifiers = never). Anchored records are collapsed to
   distinct attribute *profiles* first, so an unanchored record is scored once per distinct version
   of a person, not once per source record. Splink receives the blocked pairs
   (``register_blocked_pairs_for_predict``), term-frequency tables computed on *all* records, and
   fixed m/u parameters from the settings (optionally re-estimated, see ``train``).
   CCCD and MST rules: docs/domain.md#citizen-identity-card-cccd, #tax-code-mst.

Clustering: an unanchored record is attached to at most one anchor (its best-scoring one), and
unanchored records are linked to each other by edges above ``threshold``; connected components are
computed natively in Spark (min-label propagation). The guard then checks every component:

* more than one anchor (two valid identifiers would be merged through unanchored records) or
* more than ``max_cluster_size`` records

makes a component *bad*. With ``oversize_action: fail`` an oversize component raises
:class:`OversizeClusterError`. Otherwise (``split``; conflicts are always split) the bad components
are re-clustered keeping only edges with probability >= each of ``split_thresholds`` in turn, and
finally with no record-to-record edges at all (every record then sits with its single best anchor or
alone). Identifier groups that are themselves larger than ``max_cluster_size`` (a placeholder ID
shared by many records) are demoted before step 2 in ``split`` mode: their records lose the anchor
and are matched probabilistically. Everything the guard did is reported in the stats.

``cluster_id`` is the smallest record uid (``"<source>|<record_key>"``) in the cluster, so reruns
over the same input give the same ids. It contains source keys: gold must key-hash it (HMAC) before
it leaves the resolver, like any other identifier.

Modules (only the names below are the package's API; the rest is internal):

* :mod:`.model` - comparison levels (SQL), default m/u, settings merge and validation, the Splink
  settings dict;
* :mod:`.prepare` - per-entity preparation of the input frames;
* :mod:`.blocking` - blocking keys, candidate profiles, blocked pairs;
* :mod:`.splink_adapter` - scoring and optional training through Splink (the only module that
  imports splink);
* :mod:`.graph` - connected components, the cluster-size guard and the split;
* :mod:`.resolver` - the orchestration and the stats types.
"""

from lakehouse.errors import OversizeClusterError
from lakehouse.gold.resolve.graph import connected_components, split_components
from lakehouse.gold.resolve.model import (
    CONFIG_KEYS,
    DEFAULT_ENTERPRISE_SETTINGS,
    DEFAULT_PERSON_SETTINGS,
    ENTERPRISE_COMPARISONS,
    ENTERPRISE_SPEC,
    PERSON_COMPARISONS,
    PERSON_SPEC,
    enterprise_settings,
    person_settings,
    splink_settings,
)
from lakehouse.gold.resolve.prepare import UID_SEP
from lakehouse.gold.resolve.resolver import (
    METHODS,
    OUTPUT_COLUMNS,
    Resolution,
    ResolveStats,
    resolve_enterprises,
    resolve_people,
)

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_ENTERPRISE_SETTINGS",
    "DEFAULT_PERSON_SETTINGS",
    "ENTERPRISE_COMPARISONS",
    "ENTERPRISE_SPEC",
    "METHODS",
    "OUTPUT_COLUMNS",
    "PERSON_COMPARISONS",
    "PERSON_SPEC",
    "UID_SEP",
    "OversizeClusterError",
    "Resolution",
    "ResolveStats",
    "connected_components",
    "enterprise_settings",
    "person_settings",
    "resolve_enterprises",
    "resolve_people",
    "splink_settings",
    "split_components",
]
