"""The value that flows through the stages: a :class:`Project` and its stage functions.

Stages are functions ``Project -> Project``: each returns a new project and never mutates the
one it was given, so a page can call one inside ``try/except TabwrightError`` and simply keep
the old project when it fails. Changing an earlier choice clears the results that depended on
it, and says so in :attr:`Project.cleared`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.catalogue import default_models
from core.deliver import RunStore
from core.errors import TabwrightError
from core.explore import Finding, Profile, profile_table
from core.ingest import (
    JoinReport,
    JoinSuggestion,
    LoadedTable,
    default_join,
    joined_table,
    read_query,
    read_table,
    related_name,
    suggest_joins,
)
from core.recipe import (
    ColumnPrep,
    DataSource,
    Join,
    ModelChoice,
    Recipe,
    apply_suggestion,
)
from core.run import TrainResult
from core.train import RunContext, TrainingJob, finalize


@dataclass(frozen=True)
class Project:
    """One user's work: the data, its profile, the recipe, and the latest training result.

    ``cleared`` holds a sentence when the last change threw away results that depended on an
    earlier choice, so the UI can say so visibly. With joined tables (``recipe.joins``),
    ``table`` is the joined table every stage works on, ``base`` the main table as it was
    read, ``related`` each related table by its join's name, and ``join_reports`` what each
    join found (matched rows, warnings).
    """

    table: LoadedTable | None = None
    profile: Profile | None = None
    recipe: Recipe = field(default_factory=Recipe)
    result: TrainResult | None = None
    run_id: str | None = None
    applied: tuple[str, ...] = ()
    cleared: str | None = None
    base: LoadedTable | None = None
    related: tuple[tuple[str, LoadedTable], ...] = ()
    join_reports: tuple[JoinReport, ...] = ()

    @property
    def frame(self) -> pd.DataFrame:
        if self.table is None:
            raise TabwrightError("No data loaded yet.", "Upload a CSV or pick a sample on the Data page.")
        return self.table.frame

    @property
    def inferred_roles(self) -> dict[str, str]:
        return {c.name: c.role for c in self.profile.columns} if self.profile else {}

    def effective_roles(self) -> dict[str, str]:
        """Inferred roles with the user's overrides applied."""
        return self.inferred_roles | dict(self.recipe.roles)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per stage: ``done`` (bool), ``ready`` (can be opened) and ``needs`` (what's missing)."""
        has_data = self.table is not None
        has_target = bool(self.recipe.target) or self.recipe.task == "clustering"
        trained = self.result is not None
        brief = self.recipe.brief
        return {
            "define": {"done": bool(brief.problem or brief.bar_metric), "ready": True, "needs": ""},
            "data": {"done": has_data, "ready": True, "needs": ""},
            "explore": {"done": has_data and self.profile is not None, "ready": has_data,
                        "needs": "data"},
            "prepare": {"done": has_data and bool(self.applied or self.recipe.preparation.columns
                                                  or self.recipe.drop),
                        "ready": has_data, "needs": "data"},
            "model": {"done": has_target, "ready": has_data, "needs": "data"},
            "train": {"done": trained, "ready": has_data and has_target, "needs": "model"},
            "evaluate": {"done": trained, "ready": trained, "needs": "train"},
            "export": {"done": False, "ready": trained, "needs": "train"},
            "use": {"done": False, "ready": trained, "needs": "train"},
            "monitor": {"done": False, "ready": True, "needs": ""},
        }


def load_data(project: Project, source: bytes | str, *, name: str | None = None,
              sheet: str | None = None) -> Project:
    """Read a file (CSV, a workbook's ``sheet``, Parquet) into a fresh project (keeping the
    user's brief), with profile and defaults."""
    table = read_table(source, name=name, sheet=sheet)
    return load_table(project, table)


def load_query(project: Project, url: str, query: str, *, password: str | None = None) -> Project:
    """Run a database query into a fresh project; the recipe records the query as its source.

    The source holds the URL without its password (see :func:`core.ingest.read_query`), so
    repeating the run asks for the password again.
    """
    table = read_query(url, query, password=password)
    return load_table(project, table, source=DataSource(kind="sql", url=table.name, query=query))


def load_table(project: Project, table: LoadedTable, *, source: DataSource | None = None) -> Project:
    """A table already read, as a fresh project (keeping the user's brief), with profile and
    defaults; ``source`` records where it came from when that was not a file."""
    profile = profile_table(table.frame, codes=table.codes)
    recipe = Recipe(brief=dataclasses.replace(project.recipe.brief), source=source)
    recipe = recommended_recipe(profile, recipe)
    cleared = "Loaded new data: earlier results were cleared." if project.result is not None else None
    return Project(table=table, profile=profile, recipe=recipe, cleared=cleared)


# ---- a second table ------------------------------------------------------------------------


def join_suggestions(project: Project, related: LoadedTable) -> list[JoinSuggestion]:
    """The key pairs the main table and ``related`` could be joined on, best first."""
    main = project.base or project.table
    if main is None:
        raise TabwrightError("Load the main table first.", "Upload a file or pick a sample.")
    return suggest_joins(main.frame, related.frame, name=related_name(related.name),
                         target=project.recipe.target)


def suggested_join(project: Project, related: LoadedTable, suggestion: JoinSuggestion) -> Join:
    """The join a suggestion makes by default (see :func:`core.ingest.default_join`)."""
    main = project.base or project.table
    return default_join(main.frame, related.frame, suggestion, name=related_name(related.name))


def add_join(project: Project, related: LoadedTable, join: Join) -> Project:
    """Join ``related`` to the project's data as ``join`` says; every stage then works on the
    joined table. The recipe keeps the user's choices and gains the join; results are cleared
    (the data changed) and the data is profiled again, so the leakage checks see the new
    columns.

    Raises
    ------
    TabwrightError
        When the join is unsafe (it would repeat main rows), its keys cannot be compared, a
        name is taken, or another join already uses ``join.name``.
    """
    if any(name == join.name for name, _ in project.related):
        raise TabwrightError(f"A table named {join.name!r} is joined already.",
                             "Remove that join first, or rename the file.")
    recipe = project.recipe.copy()
    recipe.joins = [*recipe.joins, join]
    related_tables = (*project.related, (join.name, related))
    return _rejoin(project, recipe, related_tables)


def remove_join(project: Project, name: str) -> Project:
    """The project without the join named ``name`` (and its columns)."""
    recipe = project.recipe.copy()
    recipe.joins = [j for j in recipe.joins if j.name != name]
    gone = {c for r in project.join_reports if r.name == name for c in r.columns_added}
    recipe.drop = [c for c in recipe.drop if c not in gone]
    recipe.roles = {c: r for c, r in recipe.roles.items() if c not in gone}
    recipe.preparation.columns = {c: p for c, p in recipe.preparation.columns.items()
                                  if c not in gone}
    return _rejoin(project, recipe, tuple((n, t) for n, t in project.related if n != name))


def _rejoin(project: Project, recipe: Recipe, related: tuple[tuple[str, LoadedTable], ...]
            ) -> Project:
    base = project.base or project.table
    if base is None:
        raise TabwrightError("Load the main table first.", "Upload a file or pick a sample.")
    table, reports = joined_table(base, dict(related), recipe.joins)
    if recipe.target and recipe.target not in table.frame.columns:
        recipe.target = None
    profile = profile_table(table.frame, target=recipe.target, codes=table.codes)
    recipe.validate(list(table.frame.columns))
    cleared = ("The data changed (a table was joined or removed): earlier results were cleared."
               if project.result is not None else None)
    return dataclasses.replace(project, table=table, profile=profile, recipe=recipe, result=None,
                               run_id=None, cleared=cleared,
                               base=base if recipe.joins else None, related=related,
                               join_reports=reports)


def set_target(project: Project, target: str | None, *, task: str | None = None) -> Project:
    """Choose what to predict (``None`` with ``task="clustering"`` for no target)."""
    frame = project.frame
    if target is not None and target not in frame.columns:
        raise TabwrightError(f"The target {target!r} is not a column of the data.",
                             "Choose one of the listed columns.")
    profile = profile_table(frame, target=target, codes=project.table.codes)
    recipe = project.recipe.copy()
    recipe.target = target
    recipe.task = task or (profile.task.task if profile.task else ("clustering" if target is None else None))
    recipe.metric = None
    if target in recipe.drop:
        recipe.drop.remove(target)
    recipe = recommended_recipe(profile, recipe)
    recipe.validate(list(frame.columns))
    return _with_recipe(dataclasses.replace(project, profile=profile), recipe,
                        reason="You changed the target")


def update_recipe(project: Project, recipe: Recipe, *, reason: str = "You changed a choice") -> Project:
    """Replace the recipe after validating it against the data; clears stale results."""
    recipe.validate(list(project.frame.columns) if project.table is not None else None)
    return _with_recipe(project, recipe, reason=reason)


def apply_finding(project: Project, finding: Finding) -> Project:
    """Apply a finding's one-click suggestion to the recipe."""
    if finding.suggestion is None:
        raise TabwrightError("This finding has no action to apply.", "It is for information only.")
    s = finding.suggestion
    recipe = apply_suggestion(project.recipe, s.action, s.params)
    updated = _with_recipe(project, recipe, reason=f"You applied “{s.label}”")
    return dataclasses.replace(updated, applied=project.applied + (finding_key(finding),))


def finding_key(finding: Finding) -> str:
    return f"{finding.code}:{','.join(finding.columns)}"


def with_result(project: Project, result: TrainResult, *, run_id: str | None = None) -> Project:
    return dataclasses.replace(project, result=result, run_id=run_id, cleared=None)


@dataclass(frozen=True)
class CollectedRun:
    """A finished training, collected: the project to keep and what to tell the user.

    Attributes
    ----------
    project : Project
        The project with the run as its result; the project as it was when the data or the
        recipe changed while the run trained.
    run_id : str or None
        The run's id in the run history; ``None`` when it could not be saved there.
    messages : tuple of (str, str)
        What to tell the user, in order, as ``(kind, text)``; kind is ``"success"`` or
        ``"warning"``.
    """

    project: Project
    run_id: str | None
    messages: tuple[tuple[str, str], ...]


def collect_training(project: Project, job: TrainingJob, *, owner: str) -> CollectedRun | None:
    """Record a finished training in the run history and make it the project's result.

    The run is always saved in the history, but it becomes the project's result only when the
    data and the recipe are still the ones the training started from (``job.context``): a
    model trained on other inputs would not be the one the pages describe. The job is marked
    collected, so its run is recorded once however often this is called.

    Parameters
    ----------
    project : Project
        The project as it is now (the user may have changed it while the job ran).
    job : TrainingJob
        The training, finished or not.
    owner : str
        Whose run history the run goes into.

    Returns
    -------
    CollectedRun or None
        ``None`` when there is nothing to collect: the job is still running, was collected
        before, or ended without a model (its error stays on the job).
    """
    if job.active or job.collected:
        return None
    job.collected = True
    result, context = job.result, job.context
    if result is None:
        return None
    messages: list[tuple[str, str]] = []
    try:
        run_id = RunStore().record(result, data_name=context.data_name if context else "data.csv",
                                   hypothesis=context.hypothesis if context else "", owner=owner)
    except TabwrightError as exc:
        messages.append(("warning", "The run could not be saved in the history: "
                                    f"{exc.message} {exc.hint}"))
        run_id = None
    if not _started_from(project, context):
        messages.append(("warning", "You changed the data or a choice while this model trained: "
                                    "the run is saved in **Runs**, but it is not the current "
                                    "model. Train again to use it."))
        return CollectedRun(project, run_id, tuple(messages))
    if result.cancelled:
        messages.append(("warning", "Training was cancelled: the best model finished so far is kept."))
    else:
        messages.append(("success", f"Training finished in {result.seconds:.1f} s."))
    return CollectedRun(with_result(project, result, run_id=run_id), run_id, tuple(messages))


def finalize_project(project: Project, *, owner: str) -> CollectedRun:
    """Refit the project's model on every row (:func:`core.train.finalize`) and make that the
    project's result; a run saved in the history is saved again as a new run (the model is a
    different one), which says what it came from.

    Raises
    ------
    TabwrightError
        When there is no trained model, or it cannot be finalized (a clustering).
    """
    if project.result is None:
        raise TabwrightError("There is no trained model to refit.", "Train a model first.")
    finalized = finalize(project.result)
    messages: list[tuple[str, str]] = [
        ("success", f"Refitted on all {finalized.final_rows:,} rows. The test scores stay those "
                    f"of the model fitted on {finalized.n_train:,} rows.")]
    run_id = None
    if project.run_id is not None:
        try:
            run_id = RunStore().record(
                finalized, data_name=project.table.name if project.table is not None else "data.csv",
                hypothesis=f"Run {project.run_id} refitted on every row", owner=owner)
        except TabwrightError as exc:
            messages.append(("warning", "The refitted model could not be saved in the history: "
                                        f"{exc.message} {exc.hint}"))
    return CollectedRun(with_result(project, finalized, run_id=run_id), run_id, tuple(messages))


def _started_from(project: Project, context: RunContext | None) -> bool:
    """Whether the project still has the data and the recipe a training started from."""
    return (context is not None and project.table is not None
            and context.data_fingerprint == project.table.fingerprint
            and context.recipe == project.recipe)


def _training_choices(recipe: Recipe) -> Recipe:
    """The recipe without the parts of the brief that do not change how a model is trained.

    Rewording the problem, moving the good-enough bar or marking a column as sensitive
    re-judges the same model; it must not throw the trained model away.
    """
    view = recipe.copy()
    view.brief = dataclasses.replace(view.brief, problem="", decision="", bar_metric=None,
                                     bar_value=None, ideal_value=None, max_latency_ms=None)
    view.sensitive = []
    return view


def _with_recipe(project: Project, recipe: Recipe, *, reason: str) -> Project:
    changed = _training_choices(recipe) != _training_choices(project.recipe)
    cleared = None
    result = project.result
    if changed and result is not None:
        cleared = f"{reason}: the trained model and its evaluation were cleared. Train again to see new results."
        result = None
    return dataclasses.replace(project, recipe=recipe, result=result,
                               run_id=None if cleared else project.run_id, cleared=cleared)


def recommended_recipe(profile: Profile, recipe: Recipe) -> Recipe:
    """Sensible defaults from the profile's findings: what a careful data scientist would do.

    Identifiers, constants and critical leakage suspects (a column that gives the target away
    alone, or one computed from the target and another column) are dropped; many-level categories
    are target-encoded; an imbalanced binary target gets a metric that does not reward the
    majority class. Every default can be changed on the Prepare and Model pages.
    """
    r = recipe.copy()
    for finding in profile.findings:
        s = finding.suggestion
        if s is None:
            continue
        critical_leak = finding.code in ("target_leakage", "pair_leakage") and \
            finding.severity == "critical"
        if s.action == "drop_columns" and (finding.code in ("identifier", "constant") or critical_leak):
            for column in s.params.get("columns", []):
                if column != r.target and column not in r.drop:
                    r.drop.append(column)
        elif s.action == "set_encoding" and finding.code == "high_cardinality":
            column = s.params["column"]
            if column != r.target:
                prep = r.preparation.columns.setdefault(column, ColumnPrep())
                prep.encode = s.params["encoding"]
    if r.task and not r.models:
        r.models = [ModelChoice(m) for m in default_models(r.task, interpretable=r.brief.interpretable)]
    return r


def recommendation_reasons(profile: Profile, recipe: Recipe) -> dict[str, str]:
    """Column → why its default preparation was chosen (shown next to the choice)."""
    reasons: dict[str, str] = {}
    for finding in profile.findings:
        for column in finding.columns:
            if column in recipe.drop and finding.suggestion and finding.suggestion.action == "drop_columns":
                reasons.setdefault(column, f"Dropped: {finding.message}")
            elif column in recipe.preparation.columns and finding.code == "high_cardinality":
                reasons.setdefault(column, f"Target-encoded: {finding.message}")
    return reasons
