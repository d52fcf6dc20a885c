"""The engine: scan the tree, plan the moves, apply them journaled, publish repodata.

`Engine` (engine.py) is the facade the CLI and the DAGs share; the modules beside it are
its parts, from the domain model (evr, package, family, layout, policy) through planning
(tree, settled, retention, plan, placement, hold, gating, conflict) to the side effects
(journal, runner, apply, repodata, lock, durable) and the checks (check, check_rules,
guard, listing, watch)."""
