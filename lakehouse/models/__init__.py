"""Analytical models on the gold tables.

- :mod:`.data`      Dask reads gold Delta tables through the Delta log (with time travel) and
                    writes score tables back.
- :mod:`.cluster`   the Dask client: a small local cluster, or a scheduler address from config.
- :mod:`.features`  pure pandas feature functions (one row per citizen / enterprise).
- :mod:`.specs`     the models: which question, which gold tables, features, label.
- :mod:`.train`     distributed training (xgboost.dask), evaluation against a naive baseline.
- :mod:`.tracking`  MLflow: tracking URI from config, code version, registry and aliases.
- :mod:`.score`     batch scoring with a registered model (by alias) into gold/<model>_scores.
- :mod:`.notebooks` headless execution of the jupytext notebooks in notebooks/.
"""
