"""One error base: every lakehouse error is a LakehouseError, old import locations still work, a bad
resolver setting is a ConfigError naming its key, and run_job turns a LakehouseError into exit code 2
with the message only (no JVM: the session, the audit write and the run-log table are stubbed)."""

from __future__ import annotations

import contextlib

import pytest

from lakehouse import errors as E
from lakehouse.config import compose


def test_every_error_class_derives_from_lakehouse_error():
    classes = [getattr(E, name) for name in E.__all__]
    assert all(isinstance(c, type) and issubclass(c, E.LakehouseError) for c in classes)
    # every exception class the module defines is exported
    defined = {v for v in vars(E).values() if isinstance(v, type) and issubclass(v, BaseException)}
    assert defined == set(classes)


def test_old_import_locations_and_bases_still_work():
    from jobs.evaluate import EvaluateError
    from jobs.maintain import MaintenanceError
    from lakehouse.bronze import BronzeError
    from lakehouse.bronze.runner import BronzeError as BronzeError2
    from lakehouse.config import ConfigError
    from lakehouse.gold.resolve import OversizeClusterError
    from lakehouse.gold.runner import GoldError
    from lakehouse.ops.retry import ConcurrentWriteConflict
    from lakehouse.security.keys import KeyMaterialError
    from lakehouse.silver.runner import SilverError

    assert (ConfigError, BronzeError, BronzeError2, SilverError, GoldError, OversizeClusterError, KeyMaterialError,
            ConcurrentWriteConflict, MaintenanceError, EvaluateError) == \
        (E.ConfigError, E.BronzeError, E.BronzeError, E.SilverError, E.GoldError, E.OversizeClusterError,
         E.KeyMaterialError, E.ConcurrentWriteConflict, E.MaintenanceError, E.EvaluateError)
    assert issubclass(E.ConfigError, ValueError)
    for cls in (E.BronzeError, E.SilverError, E.GoldError, E.OversizeClusterError, E.KeyMaterialError,
                E.ConcurrentWriteConflict, E.MaintenanceError, E.EvaluateError):
        assert issubclass(cls, RuntimeError), cls
    assert issubclass(E.OversizeClusterError, E.ResolutionError) and issubclass(E.ResolutionError, E.GoldError)
    assert issubclass(E.KeyMaterialError, E.SecurityError)
    assert all(issubclass(c, E.OpsError) for c in (E.MaintenanceError, E.EvaluateError, E.ConcurrentWriteConflict))
    err = E.OversizeClusterError("too big", [{"cluster_id": "a", "records": 9}])
    assert str(err) == "too big" and err.components == [{"cluster_id": "a", "records": 9}]
    conflict = E.ConcurrentWriteConflict("merge into silver/x", 3, ValueError("DELTA_CONCURRENT_APPEND\nmore"))
    assert "gave up after 3 attempt(s)" in str(conflict) and conflict.attempts == 3


@pytest.mark.parametrize(("fn", "settings", "key"), [
    ("person_settings", {"threshold": 1.5}, "gold.resolve_people.threshold"),
    ("person_settings", {"threshold": "high"}, "gold.resolve_people.threshold"),
    ("person_settings", {"oversize_action": "ignore"}, "gold.resolve_people.oversize_action"),
    ("person_settings", {"max_cluster_size": 1}, "gold.resolve_people.max_cluster_size"),
    ("person_settings", {"max_block_size": None}, "gold.resolve_people.max_block_size"),
    ("person_settings", {"split_thresholds": [0.5]}, "gold.resolve_people.split_thresholds"),
    ("person_settings", {"comparisons": {"name": {"soundex": {"m": 0.1, "u": 0.1}}}},
     "gold.resolve_people.comparisons.name.soundex"),
    ("person_settings", {"comparisons": {"phone": {"exact": {"m": "x"}}}},
     "gold.resolve_people.comparisons.phone.exact.m"),
    ("person_settings", {"blocking_rules": [["surname"]]}, "gold.resolve_people.blocking_rules"),
    ("person_settings", {"train": {"method": "magic"}}, "gold.resolve_people.train.method"),
    ("enterprise_settings", {"threshold": 0}, "gold.resolve_enterprises.threshold"),
    ("enterprise_settings", {"train": {"em_blocking_rules": [["nope"]]}},
     "gold.resolve_enterprises.train.em_blocking_rules"),
])
def test_bad_resolver_setting_is_a_config_error_naming_the_key(fn, settings, key):
    from lakehouse.gold import resolve as R

    with pytest.raises(E.ConfigError) as err:
        getattr(R, fn)(settings)
    assert str(err.value).startswith(key), str(err.value)


def test_resolver_m_u_sums_are_config_errors():
    from lakehouse.gold import resolve as R

    s = R.person_settings({"comparisons": {"sex": {"exact": {"m": 1.5}}}})
    with pytest.raises(E.ConfigError, match=r"^gold\.resolve_people\.comparisons\.sex: m or u"):
        R.splink_settings(R.PERSON_SPEC, s, 1000, 1e-3)


# --- run_job --------------------------------------------------------------------------------------

class _FakeAudit:
    def __init__(self, run_id):
        self.run_id = run_id


@pytest.fixture
def stubbed_job(monkeypatch, tmp_path):
    """run_job with no JVM: a sentinel session, an audit context that records its run id, no table."""
    import jobs._common as C
    from lakehouse.ops.runlog import RunLog

    audits: list[str] = []

    @contextlib.contextmanager
    def fake_audited_run(spark, cfg, job, run_id=None, **_):
        audits.append(run_id)
        yield _FakeAudit(run_id)

    monkeypatch.setattr(C, "spark_for", lambda cfg: object())
    monkeypatch.setattr(C, "audited_run", fake_audited_run)
    monkeypatch.setattr(RunLog, "write_table", lambda self, spark: None)
    cfg = compose([f"paths.root={tmp_path / 'data'}"])
    return C, cfg, audits


def test_run_job_turns_a_lakehouse_error_into_exit_2_without_traceback(stubbed_job, capsys):
    C, cfg, audits = stubbed_job
    seen = []

    def body(job):
        seen.append(job)
        raise E.SilverError("silver: id_card batch 3: 40 of 100 rows dropped (max_drop_rate 10%)")

    with pytest.raises(SystemExit) as exit_:
        C.run_job(cfg, "silver", body)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "silver: silver: id_card batch 3: 40 of 100 rows dropped" in err
    assert "Traceback" not in err
    job = seen[0]
    assert audits == [job.run_id] == [job.log.run_id] == [job.run.run_id]
    assert job.run_id.startswith("silver-") and job.log.records[-1].status == "failed"


@pytest.mark.parametrize("exc", [E.ConfigError("gold.resolve_people.threshold must be in (0, 1)"),
                                 E.KeyMaterialError("no keys"), E.ModelError("no classes")])
def test_run_job_catches_every_lakehouse_error(stubbed_job, capsys, exc):
    C, cfg, _ = stubbed_job

    def body(job):
        raise exc

    with pytest.raises(SystemExit) as exit_:
        C.run_job(cfg, "gold", body)
    assert exit_.value.code == 2 and f"gold: {exc}" in capsys.readouterr().err


def test_run_job_lets_other_errors_through(stubbed_job):
    C, cfg, _ = stubbed_job

    def body(job):
        raise KeyError("a bug")

    with pytest.raises(KeyError, match="a bug"):
        C.run_job(cfg, "bronze", body)


def test_run_job_success_shares_one_run_id(stubbed_job, capsys):
    C, cfg, audits = stubbed_job
    seen = []
    C.run_job(cfg, "report", seen.append)
    assert audits == [seen[0].run_id] == [seen[0].log.run_id]
    assert "report: done in" in capsys.readouterr().out
