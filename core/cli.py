"""The ``tabwright`` command line: the same core functions the app's pages call.

Exit status: 0 on success; 2 for bad input or bad arguments, with one line on stderr; 1 only
for a bug (set ``TABWRIGHT_DEBUG=1`` to see its traceback).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

from core import deliver, explore, ingest, monitor, settings
from core import evaluate as evaluation
from core import train as training
from core.errors import TabwrightError
from core.recipe import DataSource, Join, Recipe

# The stage packages load their names on first use: each command imports only what it runs
# (``tabwright monitor`` reads a log without loading the web server or the training code).


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments on one line and exits with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise TabwrightError(f"{message}.", f"See '{self.prog} --help'.")


def _write_json(data: Any, target: str | None) -> None:
    text = json.dumps(data, indent=2, allow_nan=False, default=str)
    if target in (None, "-"):
        sys.stdout.write(text + "\n")
    else:
        _write_file(target, (text + "\n").encode())


def _write_file(target: str, payload: bytes) -> None:
    try:
        Path(target).write_bytes(payload)
    except OSError as exc:
        raise TabwrightError(f"Cannot write {target!r}: {exc.strerror}.",
                             "Choose a path in a folder you can write to.") from None


def _load(path: str, *, sheet: str | None = None) -> ingest.LoadedTable:
    if not Path(path).exists():
        raise TabwrightError(f"No file at {path!r}.", "Check the path and try again.")
    if Path(path).is_dir():
        raise TabwrightError(f"{path!r} is a folder, not a data file.",
                             "Pass the path of a CSV, Excel or Parquet file.")
    return ingest.read_table(path, sheet=sheet)


def _data(args: argparse.Namespace,
          source: DataSource | None = None) -> tuple[ingest.LoadedTable, DataSource | None]:
    """The table a command reads: its file, ``--sql QUERY --db URL``, or a recipe's query."""
    if args.data and (args.sql or args.db):
        raise TabwrightError("Give a data file or --sql with --db, not both.",
                             "Drop the file to read the query, or the query to read the file.")
    if args.data:
        return _load(args.data, sheet=args.sheet), None
    if args.sql or args.db:
        if not (args.sql and args.db):
            raise TabwrightError("--sql and --db go together: the query and the database URL.",
                                 "Pass both, e.g. --sql 'SELECT * FROM customers' "
                                 "--db postgresql://analyst@db.example.com/sales.")
        url, query = args.db, args.sql
    elif source is not None:
        url, query = source.url, source.query
    else:
        raise TabwrightError("A data file (or --sql QUERY --db URL) is required.",
                             f"See 'tabwright {args.command} --help'.")
    table = _query(url, query)
    return table, DataSource(kind="sql", url=table.name, query=query)


def _joined(args: argparse.Namespace, table: ingest.LoadedTable, joins: list[Join], *,
            target: str | None = None) -> tuple[ingest.LoadedTable, list[Join]]:
    """The table with ``--with`` tables joined: by ``joins`` (a recipe's or a model's), or by
    joins planned from the best keys (``--on``, ``--cutoff``). Says what was joined on stderr."""
    given = getattr(args, "with_", None) or []
    on, cutoff = getattr(args, "on", None), getattr(args, "cutoff", None)
    if (on or cutoff) and not given:
        raise TabwrightError("--on and --cutoff describe a join: they need --with FILE.",
                             "Add --with orders.csv (the related table), or drop them.")
    related: dict[str, ingest.LoadedTable] = {}
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or Path(item).exists():
            name, path = "", item
        loaded = _load(path)
        related[name or ingest.related_name(loaded.name)] = loaded
    if joins and (on or cutoff):
        raise TabwrightError("The recipe says how its tables are joined, so --on and --cutoff "
                             "do not apply.", "Drop them, or edit the recipe's joins.")
    if joins and len(joins) == 1 and len(related) == 1 and joins[0].name not in related:
        related = {joins[0].name: next(iter(related.values()))}  # one table: its name is clear
    if not joins:
        target = target or getattr(args, "target", None)  # never a key
        joins = (ingest.plan_joins(table, related, on=on, cutoff=cutoff, target=target)
                 if related else [])
    elif extra := sorted(set(related) - {j.name for j in joins}):
        raise TabwrightError(f"This data is not joined with {', '.join(map(repr, extra))}.",
                             "Pass only the tables it is joined with: "
                             + ", ".join(j.name for j in joins) + ".")
    if not joins:
        return table, joins
    joined, reports = ingest.joined_table(table, related, joins)
    for line in ingest.describe_joins(joins, list(reports)):
        print(f"join: {line}", file=sys.stderr)
    for report in reports:
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return joined, joins


def _query(url: str, query: str) -> ingest.LoadedTable:
    """Run a query; the password comes from TABWRIGHT_DB_PASSWORD or, in a terminal, a prompt."""
    try:
        return ingest.read_query(url, query, password=settings.db_password())
    except ingest.PasswordRequired as exc:
        if sys.stdin is None or not sys.stdin.isatty():
            raise TabwrightError(exc.message, "Set TABWRIGHT_DB_PASSWORD to it: there is no "
                                              "terminal here to ask for it.") from None
    return ingest.read_query(url, query, password=getpass.getpass("Database password: "))


def cmd_profile(args: argparse.Namespace) -> int:
    table, _ = _data(args)
    table, _ = _joined(args, table, [])
    profile = explore.profile_table(table.frame, target=args.target)
    data = profile.to_dict()
    data["file"] = {"name": table.name, "encoding": table.encoding, "delimiter": table.delimiter,
                    "decimal": table.decimal, "bytes": table.n_bytes, "fingerprint": table.fingerprint,
                    "conversions": table.conversions, "notes": table.notes,
                    "format": table.source_format, "sheet": table.sheet, "sheets": list(table.sheets)}
    if args.json is not None:
        _write_json(data, args.json)
        if args.json == "-":
            return 0
    _print_profile(data)
    return 0


def _print_profile(data: dict[str, Any]) -> None:
    print(f"{data['rows']:,} rows × {data['n_columns']} columns")
    if data.get("task"):
        print(f"Task: {data['task']['task']} — {data['task']['reason']}")
    width = max(len(c["name"]) for c in data["columns"])
    for c in data["columns"]:
        print(f"  {c['name']:<{width}}  {c['role']:<11} {c['missing_fraction']:>6.1%} missing  "
              f"{c['n_unique']:>8,} distinct  {c['evidence']}")
    if data["findings"]:
        print("Findings:")
        for f in data["findings"]:
            print(f"  [{f['severity']}] {f['message']}")
    elif not data.get("target"):
        print("No findings.")
    if not data.get("target") and data.get("target_suggestions"):
        print("Possible targets: " + ", ".join(
            f"{s['column']} ({s['task']})" for s in data["target_suggestions"]))


def _print_plan(frame, recipe, roles: dict[str, str]) -> int:
    """``train --plan``: what the run would do and its measured time and memory, no training."""

    recipe = recipe.copy()
    if recipe.task is None and recipe.target:
        if recipe.target not in frame.columns:
            raise TabwrightError(f"The target {recipe.target!r} is not a column of the data.",
                                 "Check the column name (see `tabwright profile`).")
        recipe.task = ingest.detect_task(frame[recipe.target].dropna()).task
    plan = training.training_plan(frame, recipe)
    print(f"Task: {plan['task']}; optimising {plan['metric']}; {plan['rows']:,} rows "
          f"({plan['train_rows']:,} to train, {plan['test_rows']:,} to test).")
    print(f"Validation: {plan['validation']}.")
    if plan["search"]:
        print(plan["search"])
    for model in plan["models"]:
        why = f" ({model['why']})" if model["why"] else ""
        print(f"  {model['label']:<34} {model['treatment']}{why}")
    for note in plan["notes"]:
        print(f"Note: {note}")
    if plan["task"] != "clustering":
        for line in training.describe(training.estimate_run(frame, recipe, plan, inferred_roles=roles)):
            print(line)
    else:
        print(f"Time: about {plan['estimate_seconds']:g} s.")
    return 0


BUNDLE_SHARE = 0.08
"""The share of ``--time-budget`` kept for writing the bundle after training (reports with
importance and partial dependence, the model files): about 5 s on a 60 s run, so the whole
command ends within its budget and a tenth (bench/train_process.py)."""


def cmd_train(args: argparse.Namespace) -> int:
    started = time.monotonic()  # the time budget counts reading the data too
    if args.recipe:
        try:
            recipe = Recipe.from_json(Path(args.recipe).read_text(encoding="utf-8"))
        except OSError as exc:
            raise TabwrightError(f"Cannot read the recipe {args.recipe!r}: {exc.strerror}.",
                                 "Pass the path of a recipe.json.") from None
    else:
        recipe = Recipe()
    table, recipe.source = _data(args, recipe.source)
    table, recipe.joins = _joined(args, table, recipe.joins, target=args.target or recipe.target)
    if args.target:
        recipe.target = args.target
    if args.task and args.task != "auto":
        recipe.task = args.task
        if args.task == "clustering":
            recipe.target = None
    if args.time_budget is not None:
        recipe.time_budget = args.time_budget
    if args.metric:
        recipe.metric = args.metric
    if args.seed is not None:
        recipe.seed = args.seed
    if args.max_trials is not None:
        recipe.max_trials = args.max_trials
    if args.finalize is not None:
        recipe.finalize = "on" if args.finalize else "off"
    if args.bagging is not None:
        recipe.bagging = args.bagging
    if not recipe.target and recipe.task != "clustering":
        raise TabwrightError("train needs --target COL (or --task clustering).",
                             "Name the column to predict.")
    others = [name for name in table.sheets if name != table.sheet]
    if recipe.target and recipe.target not in table.frame.columns and others:
        raise TabwrightError(
            f"The target {recipe.target!r} is not a column of sheet {table.sheet!r}.",
            "Choose the sheet that holds it with --sheet NAME; the workbook's other sheets: "
            + ", ".join(map(repr, others)) + ".")
    features = table.frame.drop(columns=[recipe.target]) if recipe.target in table.frame else table.frame
    roles = {c.name: c.role for c in ingest.infer_roles(features)}
    if args.plan:
        return _print_plan(table.frame, recipe, roles)

    def progress(p):
        if not args.quiet:
            print(f"\r[{p.fraction:4.0%}] {p.message[:70]:<70}", end="", file=sys.stderr, flush=True)

    result = training.train(table.frame, recipe, inferred_roles=roles, progress=progress,
                            dask_scheduler=args.dask_scheduler, started=started,
                            reserve_after=BUNDLE_SHARE * recipe.time_budget)
    if not args.quiet:
        print(file=sys.stderr)
    out = deliver.write_bundle(result, args.out, data_name=table.name, table=table,
                               project=args.project)
    metric = result.metric
    print(f"Best: {result.leaderboard[0]['label']} — CV {metric} "
          f"{_fmt(result.leaderboard[0].get(metric))} ± {_fmt(result.leaderboard[0].get(metric + '_std'))}; "
          f"test {metric} {_fmt(result.evaluation['metrics'].get(metric))}")
    for row in result.leaderboard[:10]:
        print(f"  {row['label'][:60]:<60} {_fmt(row.get(metric)):>9} ± {_fmt(row.get(metric + '_std'))}")
    if result.final_rows:
        print(f"The delivered model was refitted on all {result.final_rows:,} rows after the test "
              f"(the test score is the {result.n_train:,}-row model's).")
    print(f"Wrote {out}/ ({', '.join(sorted(p.name for p in out.iterdir()))}) in {result.seconds:.1f} s")
    return 0


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _model_file(path: str) -> Path:
    return Path(path) / "model.joblib" if Path(path).is_dir() else Path(path)


def _model_table(args: argparse.Namespace, card: dict[str, Any]) -> ingest.LoadedTable:
    """The data file, joined with the ``--with`` tables as the model's training data was."""
    table = _load(args.data, sheet=args.sheet)
    joins = Recipe.from_dict(card["recipe"]).joins if card.get("recipe") else []
    if joins and not args.with_:
        raise TabwrightError(
            "This model was trained on data joined with "
            + ", ".join(repr(j.name) for j in joins) + ", and no such table was given.",
            "Pass it with --with " + " --with ".join(f"{j.name}=FILE" for j in joins) + ".")
    if args.with_ and not joins:
        raise TabwrightError("This model was trained on one table, so --with does not apply.",
                             "Drop --with.")
    table, _ = _joined(args, table, joins)
    return table


def cmd_predict(args: argparse.Namespace) -> int:
    if args.log_inputs and not args.log:
        raise TabwrightError("--log-inputs only applies with --log.",
                             "Add --log to record the predictions, or drop --log-inputs.")
    model, card = deliver.load_bundle(args.model, trust=args.trust)
    table = _model_table(args, card)
    if args.log:
        predictions, notices, health = deliver.predict_and_log(
            model, card, table.frame, inputs=args.log_inputs or "full",
            model_bytes=_model_file(args.model).read_bytes())
    else:
        predictions, notices = deliver.predict_table(model, card, table.frame)
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)
    if args.log and health["ok"]:
        print(f"Logged {len(predictions):,} predictions in {health['folder']} (their ids are in "
              "the id column: send feedback with them)", file=sys.stderr)
    elif args.log:
        print(f"warning: the predictions were not logged: {health['last_error']}", file=sys.stderr)
    _write_csv(predictions, args.out, f"{len(predictions):,} predictions")
    return 0


def _write_csv(frame: Any, target: str | None, what: str) -> None:
    """A table as CSV (formulas neutralised) to stdout or a file, saying what was written."""
    payload = ingest.to_safe_csv(frame)
    if target in (None, "-"):
        sys.stdout.buffer.write(payload)
    else:
        _write_file(target, payload)
        print(f"Wrote {what} to {target}", file=sys.stderr)


def cmd_feedback(args: argparse.Namespace) -> int:
    if args.project:
        if len(args.paths) != 1:
            raise TabwrightError("With --project, give only the feedback file.",
                                 "Use 'tabwright feedback --project NAME FILE.csv'.")
        data, task, classes = args.paths[0], None, None
        folder = deliver.log_folder(args.project)
        if not folder.is_dir():
            raise TabwrightError(f"There is no prediction log for the project {args.project!r} "
                                 f"(no folder {str(folder)!r}).",
                                 "Check the project name, or pass the model folder instead.")
        log = deliver.PredictionLog(folder, background=False)
    else:
        if len(args.paths) != 2:
            raise TabwrightError("feedback needs the model folder and the feedback file "
                                 f"(or --project NAME and the file), got {len(args.paths)} path(s).",
                                 "Use 'tabwright feedback MODEL_DIR FILE.csv'.")
        model_dir, data = args.paths
        card = monitor.read_card(model_dir)  # outcomes need the card, never the pickled model
        task, classes = card["task"], card.get("classes")
        log = deliver.PredictionLog.for_card(card, model_bytes=_model_file(model_dir).read_bytes(),
                                     background=False)
    frame = _load(data, sheet=args.sheet).frame
    missing = [c for c in (args.id_column, args.actual_column) if c not in frame.columns]
    if missing:
        raise TabwrightError(
            f"The feedback file has no column {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(map(repr, list(frame.columns)[:20]))}.",
            "Name the columns with --id-column and --actual-column.")
    with log:
        result = log.add_feedback(frame[args.id_column].tolist(),
                                  frame[args.actual_column].tolist(), task=task, classes=classes)
    if args.json is not None:
        _write_json(result, args.json)
        if args.json == "-":
            return 0
    print(f"Accepted {result['accepted']:,} of {result['rows']:,} feedback rows: "
          f"{result['unknown']:,} unknown id(s), {result['invalid']:,} invalid value(s), "
          f"{result['duplicate']:,} duplicate(s).")
    for message in result["messages"]:
        print(f"  {message}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model, card = deliver.load_bundle(args.model, trust=args.trust)
    table = _model_table(args, card)
    if args.by:
        return _evaluate_by(model, card, table, args)
    result = deliver.evaluate_labelled(model, card, table.frame)
    if args.json is not None:
        _write_json(result, args.json)
        if args.json == "-":
            return 0
    for name, value in result["metrics"].items():
        print(f"{name:<20} {_fmt(value)}")
    return 0


def _evaluate_by(model: Any, card: dict[str, Any], table: ingest.LoadedTable,
                 args: argparse.Namespace) -> int:
    """``evaluate --by COLUMN``: the groups of each column compared (fairness across groups)."""
    predictions, _ = deliver.predict_table(model, card, table.frame)
    tables = [evaluation.group_table(predictions, card, table.frame, column) for column in args.by]
    if args.json is not None:
        _write_json(tables, args.json)
        if args.json == "-":
            return 0
    for group in tables:
        print(f"By {group['column']}:")
        if not group.get("available", True):
            for note in group.get("notes", []):
                print(f"  {note}")
            continue
        rows = evaluation.group_rows_table(group)
        print("  " + rows.to_string(index=False).replace("\n", "\n  "))
        for flag in group.get("flags", []):
            print(f"  ! {flag}")
        for note in group.get("notes", []):
            print(f"  note: {note}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    model, card = deliver.load_bundle(args.model, trust=args.trust)
    table = _model_table(args, card)
    X, notices = deliver.validate_input(table.frame, card["input_schema"])
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)
    out = evaluation.explain_rows(model, card, X)
    if args.json is not None:
        _write_json(json.loads(out.to_json(orient="records")), args.json)
        return 0
    _write_csv(out, args.out, f"the contributions of {len(out):,} rows")
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    card = monitor.read_card(args.model)
    report = monitor.monitor_card(card, window=args.window, since=monitor.parse_since(args.since),
                                  model_bytes=_model_bytes(args.model))
    if args.json is not None:
        _write_json(report.to_dict(), args.json)
    if args.json != "-":
        _print_monitor(report)
    failing = ("act",) if args.fail_on == "act" else ("watch", "act")
    return 3 if report.verdict in failing else 0


def _model_bytes(path: str) -> bytes | None:
    """The bundle's model file, read (never loaded): a card without a run id names its rows in
    the log by this file's hash, as the server does."""
    file = Path(path) / "model.joblib" if Path(path).is_dir() else Path(path)
    try:
        return file.read_bytes() if file.name == "model.joblib" else None
    except OSError:
        return None


def _print_monitor(report: Any) -> None:
    print(f"Verdict: {report.verdict.upper()} — {report.summary}")
    for reason in report.reasons:
        print(f"  [{reason['level']}] {reason['what']} {reason['why']}")
        print(f"      -> {reason['action']}")
    windows = report.windows[report.windows["rows"] > 0].tail(10)
    read = report.assessed.get("performance") or report.assessed.get("estimate") or {}
    metric = read.get("metric")
    if len(windows):
        print(f"Last {len(windows)} {report.window}(s) with predictions:")
        print(f"  {'from':<17} {'rows':>9} {'p99 ms':>8} {'max PSI':>8}  performance")
        for _, row in windows.iterrows():
            print(f"  {str(row['start'])[:16]:<17} {int(row['rows']):>9,} "
                  f"{_cell(row.get('latency_p99'), '.1f'):>8} {_cell(row.get('max_psi'), '.3f'):>8}"
                  f"  {_performance_cell(row, metric)}")
    for note in report.notes:
        print(f"Note: {note}")


def _cell(value: Any, spec: str) -> str:
    return "" if value is None or value != value else format(value, spec)


def _performance_cell(row: Any, metric: str | None) -> str:
    if metric is None:
        return ""
    actual, estimated = row.get(f"actual_{metric}"), row.get(f"estimated_{metric}")
    if actual is not None and actual == actual:
        return f"{metric} {actual:.4f} on {int(row['labelled']):,} outcomes"
    if estimated is not None and estimated == estimated:
        return f"{metric} ~{estimated:.4f} (estimated)"
    return ""


def cmd_retrain(args: argparse.Namespace) -> int:
    started = time.monotonic()
    table = _load(args.data, sheet=args.sheet)

    def progress(p: Any) -> None:
        if not args.quiet:
            print(f"\r[{p.fraction:4.0%}] {p.message[:70]:<70}", end="", file=sys.stderr, flush=True)

    outcome = monitor.retrain(args.model, table.frame, store=deliver.RunStore(),
                              data_name=table.name, margin=args.margin,
                              promote=not args.no_promote, note=args.note, recent=args.recent,
                              progress=progress, started=started)
    if not args.quiet:
        print(file=sys.stderr)
    if args.json is not None:
        _write_json(outcome, args.json)
    if args.json != "-":
        print(outcome["message"])
    return int(outcome["exit_code"])


def cmd_drift(args: argparse.Namespace) -> int:
    model, card = deliver.load_bundle(args.model, trust=args.trust)
    table = _model_table(args, card)
    result = deliver.check_drift(card, table.frame, model=model)
    if args.json is not None:
        _write_json(result, args.json)
        if args.json == "-":
            return 0
    print(f"Verdict: {result['verdict']} — {result['explanation']}")
    output = result.get("prediction_drift")
    if output and output.get("psi") is not None:
        print(f"  {'(its predictions)':<30} PSI {output['psi']:>7.3f}  {output['status']}")
    for row in result["features"]:
        psi = "n/a" if row["psi"] is None else f"{row['psi']:.3f}"
        print(f"  {row['feature']:<30} PSI {psi:>7}  {row['status']}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    if bool(args.model) == bool(args.production):
        raise TabwrightError("serve needs a model folder or --production PROJECT, "
                             + ("not both." if args.model else "got neither."),
                             "Use 'tabwright serve MODEL_DIR' or 'tabwright serve --production NAME'.")
    if args.no_log and args.log_inputs:
        raise TabwrightError("--log-inputs does not apply with --no-log.",
                             "Drop one of the two.")
    options = dict(host=args.host, port=args.port, log=not args.no_log,
                   log_inputs=args.log_inputs or "full")
    if args.production:
        deliver.run_production(args.production, **options)
    else:
        deliver.run_server(args.model, trust=args.trust, **options)
    return 0


def _trust_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", action="store_true",
                        help="load a model.joblib this workspace did not sign (it runs code: "
                             "only for files you made yourself)")


def _log_inputs_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-inputs", choices=deliver.INPUT_MODES,
                        help="what the log keeps of each row's inputs: full (default), hashed "
                             "(a SHA-256 per row) or none")


def _sheet_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sheet", metavar="NAME",
                        help="the sheet to read from an Excel workbook (default: its first sheet)")


def _join_flags(parser: argparse.ArgumentParser, *, plan: bool = True) -> None:
    parser.add_argument("--with", dest="with_", action="append", default=[],
                        metavar="[NAME=]FILE",
                        help="a related table to join (e.g. orders.csv; repeat for more). "
                             "One-to-many tables are summarised per key, never repeating rows"
                             + ("" if plan else "; a model trained on joined data needs the "
                                                "same tables"))
    if plan:
        parser.add_argument("--on", metavar="KEY|MAIN_KEY=RELATED_KEY",
                            help="the join key (default: the best match tabwright finds)")
        parser.add_argument("--cutoff", metavar="MAIN_TIME:EVENT_TIME|DATE:EVENT_TIME",
                            help="aggregate only related events strictly before each row's "
                                 "moment of prediction (e.g. signup_date:order_date)")


def _query_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sql", metavar="QUERY", help="read the rows this query returns (with --db)")
    parser.add_argument("--db", metavar="URL",
                        help="the database as a SQLAlchemy URL without the password, e.g. "
                             "postgresql://analyst@host:5432/sales or sqlite:///shop.db; the "
                             "password comes from TABWRIGHT_DB_PASSWORD, or a prompt in a terminal")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tabwright", description=(
        "From a raw CSV to a trained, evaluated, deployable model. Every command reads the same "
        "recipe the app writes."))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("profile", help="Column roles, task and data-quality findings of a CSV.")
    p.add_argument("data", nargs="?", help="CSV/TSV, Excel (.xlsx, .xlsm) or Parquet file "
                                           "(or --sql with --db)")
    _sheet_flag(p)
    _query_flags(p)
    p.add_argument("--target", help="the column to predict (enables target-aware findings)")
    p.add_argument("--json", metavar="PATH|-", help="write the profile as JSON ('-' for stdout)")
    _join_flags(p)
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("train", help="Train, compare and evaluate models; write a model bundle.")
    p.add_argument("data", nargs="?", help="CSV/TSV file (or --sql with --db, or a recipe's "
                                           "query when --recipe has one)")
    _sheet_flag(p)
    _query_flags(p)
    p.add_argument("--target")
    p.add_argument("--task", choices=["auto", "binary", "multiclass", "regression", "clustering"],
                   default="auto")
    p.add_argument("--recipe", metavar="FILE", help="a recipe.json from the app or a previous run")
    _join_flags(p)
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="wall-clock budget for auto mode (default 60)")
    p.add_argument("--max-trials", type=int, metavar="N",
                   help="plan auto mode's search by count, not by the clock: the same data, seed "
                        "and N give the same model on any machine (the budget then only caps it)")
    p.add_argument("--finalize", action=argparse.BooleanOptionalAction, default=None,
                   help="after the test evaluation, refit the chosen model on every row, test "
                        "rows included (default: on in auto mode up to 50,000 rows)")
    p.add_argument("--bagging", action=argparse.BooleanOptionalAction, default=None,
                   help="deliver each gradient-boosting model as the mean of 5 copies, each "
                        "fitted without a different fifth of the rows (default: off)")
    p.add_argument("--metric", help="metric to optimise (e.g. roc_auc, f1, rmse)")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", default="tabwright-model", metavar="DIR",
                   help="folder for the whole bundle, as the Export page offers it: model files "
                        "and card, recipe, the HTML and Markdown reports, train.py, a Dockerfile "
                        "and its pinned requirements.txt")
    p.add_argument("--project", metavar="NAME",
                   help="the project the model belongs to (its prediction log, its production "
                        "run); default: the data file's name, e.g. titanic")
    p.add_argument("--dask-scheduler", metavar="ADDRESS",
                   help="run cross-validation fits on this Dask cluster (e.g. tcp://host:8786)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--plan", action="store_true",
                   help="print the plan and its measured time and memory estimate; do not train")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="Predict a CSV with a trained model.")
    p.add_argument("model", help="bundle folder written by 'tabwright train --out', or its model.joblib")
    p.add_argument("data")
    _sheet_flag(p)
    _trust_flag(p)
    p.add_argument("--out", metavar="FILE|-", help="CSV output (default: stdout)")
    p.add_argument("--log", action="store_true",
                   help="record the predictions in the project's prediction log, and add an id "
                        "column to send feedback with")
    _log_inputs_flag(p)
    _join_flags(p, plan=False)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="Metrics of a trained model on a labelled CSV.")
    p.add_argument("model")
    p.add_argument("data")
    _sheet_flag(p)
    _trust_flag(p)
    p.add_argument("--json", metavar="FILE|-")
    p.add_argument("--by", action="append", metavar="COLUMN",
                   help="compare the groups of this column (repeat for more): rates, scores and "
                        "gaps flagged, as the Evaluate page's fairness section")
    _join_flags(p, plan=False)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("explain", help="Each input column's part in each row's prediction.")
    p.add_argument("model", help="bundle folder written by 'tabwright train --out', or its model.joblib")
    p.add_argument("data", help="rows to explain (at most 1,000; extra columns are ignored)")
    _sheet_flag(p)
    _trust_flag(p)
    p.add_argument("--out", metavar="FILE|-", help="CSV output (default: stdout)")
    p.add_argument("--json", metavar="PATH|-", help="write JSON records instead of CSV")
    _join_flags(p, plan=False)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("drift", help="Compare new data with the model's training data.")
    p.add_argument("model")
    p.add_argument("data")
    _sheet_flag(p)
    _trust_flag(p)
    p.add_argument("--json", metavar="PATH|-")
    _join_flags(p, plan=False)
    p.set_defaults(func=cmd_drift)

    p = sub.add_parser("serve", help="Serve a model over HTTP (FastAPI).")
    p.add_argument("model", nargs="?", help="bundle folder written by 'tabwright train --out' (or use "
                                            "--production)")
    p.add_argument("--production", metavar="PROJECT",
                   help="serve the project's production run, and follow later promotions")
    _trust_flag(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-log", action="store_true",
                   help="do not record predictions (and accept no feedback)")
    _log_inputs_flag(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("feedback", help="Send the true outcomes of logged predictions.")
    p.add_argument("paths", nargs="+", metavar="MODEL_DIR FILE",
                   help="the model folder and a CSV (Excel, Parquet) of ids and true values; "
                        "only the file with --project")
    p.add_argument("--project", help="the project whose log gets the feedback, instead of a "
                                     "model folder")
    p.add_argument("--id-column", default="id", help="the column of prediction ids (default id)")
    p.add_argument("--actual-column", default="actual",
                   help="the column of true values (default actual)")
    _sheet_flag(p)
    _trust_flag(p)
    p.add_argument("--json", metavar="PATH|-", help="write the counts as JSON ('-' for stdout)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("monitor", help="How a served model is doing, from its prediction log. "
                                       "Exit status 3 when it needs action.")
    p.add_argument("model", help="bundle folder (only its model.json is read)")
    p.add_argument("--since", metavar="WHEN",
                   help="a duration back (24h, 7d, 2w) or a date (2026-11-01); default: everything logged")
    p.add_argument("--window", choices=["hour", "day", "week"], default="day")
    p.add_argument("--fail-on", choices=["act", "watch"], default="act",
                   help="the verdict from which the exit status is 3 (default act)")
    p.add_argument("--json", metavar="PATH|-", help="write the report as JSON ('-' for stdout)")
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser("retrain", help="Train a challenger on new labelled data; promote it only "
                                       "if it beats the champion (exit 0) or keep the champion (exit 4).")
    p.add_argument("model", help="the champion: a bundle folder, or a run id of the history")
    p.add_argument("data", help="new labelled data (the target column included)")
    _sheet_flag(p)
    p.add_argument("--margin", type=float, default=0.0,
                   help="how much better, in the metric's units, the challenger must be (default 0)")
    p.add_argument("--recent", type=float, default=0.2,
                   help="share of the newest rows both models are scored on (default 0.2)")
    p.add_argument("--no-promote", action="store_true",
                   help="record the challenger but do not promote it, even if it wins")
    p.add_argument("--note", help="why this retraining, kept with the promotion")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--json", metavar="PATH|-", help="write the outcome as JSON ('-' for stdout)")
    p.set_defaults(func=cmd_retrain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (also used by the console script)."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except TabwrightError as exc:
        print(f"tabwright: {exc.full_text}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tabwright: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so on one line unless debugging
        if settings.debug():
            traceback.print_exc()
        else:
            print(f"tabwright: internal error ({type(exc).__name__}: {exc}). This is a bug; "
                  "set TABWRIGHT_DEBUG=1 to see the details and please report it.".replace("\n", " "),
                  file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
