"""The ``tabwright`` command line: the same core functions the app's pages call.

Exit status: 0 on success; 2 for bad input or bad arguments, with one line on stderr; 1 only
for a bug (set ``TABWRIGHT_DEBUG=1`` to see its traceback).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from core import settings
from core.deliver import (
    check_drift,
    evaluate_labelled,
    load_bundle,
    predict_table,
    run_server,
    write_bundle,
)
from core.errors import TabwrightError
from core.explore import profile_table
from core.ingest import (
    LoadedTable,
    PasswordRequired,
    detect_task,
    infer_roles,
    read_query,
    read_table,
    to_safe_csv,
)
from core.recipe import DataSource, Recipe
from core.train import describe, estimate_run, train, training_plan


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


def _load(path: str, *, sheet: str | None = None) -> LoadedTable:
    if not Path(path).exists():
        raise TabwrightError(f"No file at {path!r}.", "Check the path and try again.")
    if Path(path).is_dir():
        raise TabwrightError(f"{path!r} is a folder, not a data file.",
                             "Pass the path of a CSV, Excel or Parquet file.")
    return read_table(path, sheet=sheet)


def _data(args: argparse.Namespace,
          source: DataSource | None = None) -> tuple[LoadedTable, DataSource | None]:
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


def _query(url: str, query: str) -> LoadedTable:
    """Run a query; the password comes from TABWRIGHT_DB_PASSWORD or, in a terminal, a prompt."""
    try:
        return read_query(url, query, password=settings.db_password())
    except PasswordRequired as exc:
        if sys.stdin is None or not sys.stdin.isatty():
            raise TabwrightError(exc.message, "Set TABWRIGHT_DB_PASSWORD to it: there is no "
                                              "terminal here to ask for it.") from None
    return read_query(url, query, password=getpass.getpass("Database password: "))


def cmd_profile(args: argparse.Namespace) -> int:
    table, _ = _data(args)
    profile = profile_table(table.frame, target=args.target)
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
        recipe.task = detect_task(frame[recipe.target].dropna()).task
    plan = training_plan(frame, recipe)
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
        for line in describe(estimate_run(frame, recipe, plan, inferred_roles=roles)):
            print(line)
    else:
        print(f"Time: about {plan['estimate_seconds']:g} s.")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.recipe:
        try:
            recipe = Recipe.from_json(Path(args.recipe).read_text(encoding="utf-8"))
        except OSError as exc:
            raise TabwrightError(f"Cannot read the recipe {args.recipe!r}: {exc.strerror}.",
                                 "Pass the path of a recipe.json.") from None
    else:
        recipe = Recipe()
    table, recipe.source = _data(args, recipe.source)
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
    if not recipe.target and recipe.task != "clustering":
        raise TabwrightError("train needs --target COL (or --task clustering).",
                             "Name the column to predict.")
    features = table.frame.drop(columns=[recipe.target]) if recipe.target in table.frame else table.frame
    roles = {c.name: c.role for c in infer_roles(features)}
    if args.plan:
        return _print_plan(table.frame, recipe, roles)

    def progress(p):
        if not args.quiet:
            print(f"\r[{p.fraction:4.0%}] {p.message[:70]:<70}", end="", file=sys.stderr, flush=True)

    result = train(table.frame, recipe, inferred_roles=roles, progress=progress,
                   dask_scheduler=args.dask_scheduler)
    if not args.quiet:
        print(file=sys.stderr)
    out = write_bundle(result, args.out, data_name=table.name)
    metric = result.metric
    print(f"Best: {result.leaderboard[0]['label']} — CV {metric} "
          f"{_fmt(result.leaderboard[0].get(metric))} ± {_fmt(result.leaderboard[0].get(metric + '_std'))}; "
          f"test {metric} {_fmt(result.evaluation['metrics'].get(metric))}")
    for row in result.leaderboard[:10]:
        print(f"  {row['label'][:60]:<60} {_fmt(row.get(metric)):>9} ± {_fmt(row.get(metric + '_std'))}")
    print(f"Wrote {out}/ ({', '.join(sorted(p.name for p in out.iterdir()))}) in {result.seconds:.1f} s")
    return 0


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def cmd_predict(args: argparse.Namespace) -> int:
    model, card = load_bundle(args.model, trust=args.trust)
    table = _load(args.data, sheet=args.sheet)
    predictions, notices = predict_table(model, card, table.frame)
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)
    payload = to_safe_csv(predictions)
    if args.out in (None, "-"):
        sys.stdout.buffer.write(payload)
    else:
        _write_file(args.out, payload)
        print(f"Wrote {len(predictions):,} predictions to {args.out}", file=sys.stderr)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model, card = load_bundle(args.model, trust=args.trust)
    table = _load(args.data, sheet=args.sheet)
    result = evaluate_labelled(model, card, table.frame)
    if args.json is not None:
        _write_json(result, args.json)
        if args.json == "-":
            return 0
    for name, value in result["metrics"].items():
        print(f"{name:<20} {_fmt(value)}")
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    model, card = load_bundle(args.model, trust=args.trust)
    table = _load(args.data, sheet=args.sheet)
    result = check_drift(card, table.frame, model=model)
    if args.json is not None:
        _write_json(result, args.json)
        if args.json == "-":
            return 0
    print(f"Verdict: {result['verdict']} — {result['explanation']}")
    for row in result["features"]:
        psi = "n/a" if row["psi"] is None else f"{row['psi']:.3f}"
        print(f"  {row['feature']:<30} PSI {psi:>7}  {row['status']}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    run_server(args.model, host=args.host, port=args.port, trust=args.trust)
    return 0


def _trust_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", action="store_true",
                        help="load a model.joblib this workspace did not sign (it runs code: "
                             "only for files you made yourself)")


def _sheet_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sheet", metavar="NAME",
                        help="the sheet to read from an Excel workbook (default: its first sheet)")


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
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="wall-clock budget for auto mode (default 60)")
    p.add_argument("--metric", help="metric to optimise (e.g. roc_auc, f1, rmse)")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", default="tabwright-model", metavar="DIR",
                   help="folder for model.joblib, model.skops, model.json, recipe.json, ...")
    p.add_argument("--dask-scheduler", metavar="ADDRESS",
                   help="run cross-validation fits on this Dask cluster (e.g. tcp://host:8786)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--plan", action="store_true",
                   help="print the plan and its measured time and memory estimate; do not train")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="Predict a CSV with a trained model.")
    p.add_argument("model", help="bundle folder written by 'train --out', or its model.joblib")
    p.add_argument("data")
    _sheet_flag(p)
    _trust_flag(p)
    p.add_argument("--out", metavar="FILE|-", help="CSV output (default: stdout)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="Metrics of a trained model on a labelled CSV.")
    p.add_argument("model")
    p.add_argument("data")
    _sheet_flag(p)
    _trust_flag(p)
    p.add_argument("--json", metavar="FILE|-")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("drift", help="Compare new data with the model's training data.")
    p.add_argument("model")
    p.add_argument("data")
    _sheet_flag(p)
    _trust_flag(p)
    p.add_argument("--json", metavar="PATH|-")
    p.set_defaults(func=cmd_drift)

    p = sub.add_parser("serve", help="Serve a model over HTTP (FastAPI).")
    p.add_argument("model")
    _trust_flag(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)
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
