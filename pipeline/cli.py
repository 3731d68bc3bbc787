"""``textmine``: one sub-command per stage, and ``run`` for all of them.

This is the only module that knows paths, logging set-up and metric files. Each stage
function here reads the tables it needs, calls the stage's pure function, validates and
writes the result; ``dvc.yaml`` calls the same sub-commands.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pandas as pd

from pipeline import parallel
from pipeline.config import Config, ConfigError, load_config
from pipeline.tables import read_table, table_path, write_json, write_table

logger = logging.getLogger("textmine")

# Which stage writes which contract table; stages read each other only through these.
TABLE_STAGE = {
    "manifest": "ingest",
    "documents": "ingest",
    "pages": "ingest",
    "segments": "ingest",
    "languages": "language",
    "entities": "entities",
    "themes": "themes",
    "subthemes": "themes",
    "actors": "actors",
    "reuse": "actors",
}
STAGES = ("ingest", "language", "entities", "actors", "themes", "review", "summarize", "report")
# Tables the review stage may rewrite with the analyst's decisions applied; summaries and
# reports read the reviewed copy when it exists.
REVIEWED_TABLES = ("documents", "segments", "languages", "actors", "themes", "subthemes", "entities")


def load(out: Path, *names: str, columns: dict[str, list[str]] | None = None) -> dict[str, pd.DataFrame]:
    """Read contract tables from the output folder, validated (``columns``: per table,
    the only columns to read)."""
    columns = columns or {}
    return {n: read_table(table_path(out, TABLE_STAGE[n], n), name=n, columns=columns.get(n)) for n in names}


def load_available(out: Path, *, reviewed: bool = True,
                   drop: dict[str, tuple[str, ...]] | None = None) -> dict[str, pd.DataFrame]:
    """Read every contract table that exists under ``out`` (for summaries and evaluation).

    With ``reviewed``, a table the review stage rewrote replaces the model's version;
    ``drop`` names columns not to read, per table.
    """
    import pyarrow.parquet as pq

    drop = drop or {}
    tables = {}
    for name, stage in TABLE_STAGE.items():
        path = table_path(out, stage, name)
        if reviewed and name in REVIEWED_TABLES and table_path(out, "review", name).exists():
            path = table_path(out, "review", name)
        if path.exists():
            columns = None
            if name in drop:
                columns = [c for c in pq.read_schema(path).names if c not in drop[name]]
            tables[name] = read_table(path, name=name, columns=columns)
    return tables


def save(out: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, df in tables.items():
        write_table(table_path(out, TABLE_STAGE[name], name), df, name=name)
        logger.info("wrote %s (%d rows)", table_path(out, TABLE_STAGE[name], name), len(df))


# --- stages ---------------------------------------------------------------------------


def stage_ingest(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.ingest import ingest_corpus_to

    corpus = Path(args.corpus or cfg.base.corpus)
    # Written document by document: the corpus's texts are never all in memory.
    manifest = ingest_corpus_to(corpus, cfg, out=args.out, cache_dir=args.out / "cache" / "ingest")
    logger.info("wrote %s tables (%d files)", args.out / "ingest", len(manifest))
    counts = manifest["status"].value_counts().to_dict()
    logger.info("ingested %s: %s", corpus, ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def stage_language(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.language import detect_languages_to

    # Read from the files a batch of documents at a time, not all texts at once.
    out = table_path(args.out, TABLE_STAGE["languages"], "languages")
    n = detect_languages_to(table_path(args.out, "ingest", "segments"), table_path(args.out, "ingest", "documents"),
                            out, cfg, cache_dir=args.out / "cache" / "language")
    logger.info("wrote %s (%d rows)", out, n)


def stage_entities(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.entities import extract_entities_to

    # Segments read and mentions written a batch of documents at a time.
    out = table_path(args.out, TABLE_STAGE["entities"], "entities")
    n = extract_entities_to(table_path(args.out, "ingest", "segments"),
                            table_path(args.out, TABLE_STAGE["languages"], "languages"), out, cfg,
                            cache_dir=args.out / "cache" / "entities")
    logger.info("wrote %s (%d rows)", out, n)


def stage_actors(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.actors import INPUT_COLUMNS, resolve_actors

    # Only the columns the stage reads: a re-run spends much of its time reading tables.
    t = load(args.out, "documents", "segments", "languages", "entities", columns=INPUT_COLUMNS)
    actors, reuse = resolve_actors(t["documents"], t["segments"], t["languages"], t["entities"], cfg,
                                   cache_dir=args.out / "cache" / "actors")
    save(args.out, {"actors": actors, "reuse": reuse})


def stage_themes(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.themes import analyse_corpus, fit_analysed, subtheme_pool

    corpus = Path(args.corpus or cfg.base.corpus)
    cache_dir = args.out / "cache" / "themes"
    with subtheme_pool(cfg) as pool:
        # Not the documents' texts: the segments hold what is scored.
        t = load(args.out, "documents", "segments", "languages",
                 columns={"documents": ["doc_id"], "segments": ["doc_id", "seg_id", "text"],
                          "languages": ["doc_id", "seg_id", "lang"]})
        # Popped, the segment and language tables are freed once analysed.
        analysed = analyse_corpus(t.pop("segments"), t.pop("languages"), cfg, corpus=corpus,
                                  cache_dir=cache_dir)
        themes, subthemes = fit_analysed(analysed, t["documents"], cfg, cache_dir=cache_dir,
                                         pool=pool)
    save(args.out, {"themes": themes, "subthemes": subthemes})


def stage_review(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.review import apply_review, load_review

    corpus = Path(getattr(args, "corpus", None) or cfg.base.corpus)
    review = load_review(corpus / "review.yaml")
    reviewed, decisions = apply_review(load_available(args.out, reviewed=False), review, cfg)
    for name, df in reviewed.items():
        write_table(table_path(args.out, "review", name), df, name=name)
    write_table(table_path(args.out, "review", "decisions"), decisions)
    stale = int((decisions["status"] == "stale").sum())
    logger.info("applied %d review decision(s) from %s; %d stale (see %s)", len(decisions) - stale,
                corpus / "review.yaml", stale, table_path(args.out, "review", "decisions"))


def stage_review_export(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.review import export_workbook

    export_workbook(load_available(args.out), args.workbook, cfg)
    logger.info("wrote review workbook %s", args.workbook)


def stage_review_import(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.review import import_workbook

    corpus = Path(args.corpus or cfg.base.corpus)
    target = args.review_file or corpus / "review.yaml"
    import_workbook(args.workbook, target, reviewer=args.reviewer)
    logger.info("updated %s from %s", target, args.workbook)


def load_for_summaries(out: Path) -> dict[str, pd.DataFrame]:
    """The reviewed tables plus the analyst's decisions, when the review stage ran.

    Not the documents' whole texts (summaries quote pages and segments), nor the
    columns of the large tables that no summary reads.
    """
    import pyarrow.parquet as pq

    keep = {"segments": ("doc_id", "seg_id", "page_no", "text", "quote_ok"),
            "languages": ("doc_id", "seg_id", "lang"),
            "entities": ("doc_id", "seg_id", "label", "canonical_id", "canonical_name"),
            "themes": ("doc_id", "seg_id", "theme", "score", "is_primary", "subtheme"),
            "actors": ("doc_id", "actor_id", "actor_name", "voice_id", "reuse_cluster", "reuse_kind",
                       "type_source", "type_flag", "stakeholder_type", "country"),
            "reuse": ()}
    drop: dict[str, tuple[str, ...]] = {"documents": ("text",)}
    for path in summary_inputs(out):
        if path.stem in keep and path.exists():
            drop[path.stem] = tuple(c for c in pq.read_schema(path).names if c not in keep[path.stem])
    tables = load_available(out, drop=drop)
    decisions = table_path(out, "review", "decisions")
    if decisions.exists():
        tables["decisions"] = read_table(decisions)
    return tables


def summary_inputs(out: Path) -> list[Path]:
    """The files :func:`load_for_summaries` reads (present or not), for the summaries'
    fingerprint."""
    paths = []
    for name, stage in TABLE_STAGE.items():
        reviewed = table_path(out, "review", name)
        paths.append(reviewed if name in REVIEWED_TABLES and reviewed.exists() else table_path(out, stage, name))
    return paths + [table_path(out, "review", "decisions")]


def stage_track(args: argparse.Namespace, cfg: Config) -> None:
    """Follow actors and themes across the consultations of several runs."""
    from pipeline.tables import atomic_path, write_csv
    from pipeline.tracking import (
        actor_participation,
        combine_runs,
        plot_theme_shares,
        theme_shares_by_consultation,
    )

    t = combine_runs([load_available(Path(run)) for run in args.runs])
    if "documents" not in t:
        raise FileNotFoundError(f"no documents table under {', '.join(map(str, args.runs))}")
    tables_dir, figures_dir = args.reports / "tables", args.reports / "figures"
    write_csv(tables_dir / "actor_participation.csv", actor_participation(t["documents"], t.get("actors")))
    shares = theme_shares_by_consultation(t["documents"], t.get("themes"), t.get("actors"))
    write_csv(tables_dir / "theme_shares_by_consultation.csv", shares)
    with atomic_path(figures_dir / "theme_shares_by_consultation.png") as tmp:
        plot_theme_shares(shares).savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    logger.info("wrote tracking tables and figure for %d run(s) to %s", len(args.runs), args.reports)


def stage_summarize(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.summarize import summarize, summary_fingerprint, write_summaries

    fingerprint = summary_fingerprint(summary_inputs(args.out), cfg)
    summaries = summarize(load_for_summaries(args.out), cfg, cache_dir=args.out / "cache" / "summarize")
    write_summaries(summaries, args.reports, fingerprint=fingerprint, parallel=cfg.compute.n_workers > 1)


def stage_report(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.report import render_report
    from pipeline.summarize import read_summaries, summary_fingerprint

    # The summarize stage's typed tables when they were built from these very inputs:
    # the draft then agrees with reports/tables without picking the quotes again.
    summaries = read_summaries(args.reports, fingerprint=summary_fingerprint(summary_inputs(args.out), cfg))
    if summaries is None:
        logger.info("no current summary tables in %s; rebuilding them", args.reports / "tables")
        render_report(load_for_summaries(args.out), args.reports, cfg)
        return
    pages = read_table(table_path(args.out, "ingest", "pages"), name="pages",
                       columns=["doc_id", "page_no", "text"])
    render_report({"pages": pages}, args.reports, cfg, summaries=summaries)


def stage_evaluate(args: argparse.Namespace, cfg: Config) -> None:
    from pipeline.evaluate import evaluate

    gold = pd.read_csv(args.gold, dtype=str, keep_default_na=False)
    result = evaluate(load_available(args.out), gold, cfg)
    target = args.metrics or (args.reports / "evaluation.json")
    write_json(Path(target), result)
    logger.info("wrote %s", target)
    summary = result.get("summary", {})
    for key, value in summary.items():
        print(f"{key}: {value}")


STAGE_FUNCS: dict[str, Callable[[argparse.Namespace, Config], None]] = {
    "ingest": stage_ingest,
    "language": stage_language,
    "entities": stage_entities,
    "actors": stage_actors,
    "themes": stage_themes,
    "review": stage_review,
    "summarize": stage_summarize,
    "report": stage_report,
}


def stage_exists(stage: str) -> bool:
    try:
        importlib.import_module(f"pipeline.{stage}")
    except ModuleNotFoundError as exc:
        if exc.name == f"pipeline.{stage}":
            return False
        raise
    return True


def stage_run(args: argparse.Namespace, cfg: Config) -> None:
    timings = {}
    for stage in STAGES:
        if not stage_exists(stage):
            logger.info("stage %s is not built yet; skipping", stage)
            continue
        start = time.perf_counter()
        STAGE_FUNCS[stage](args, cfg)
        timings[stage] = time.perf_counter() - start
    total = sum(timings.values()) or 1.0
    for stage, secs in timings.items():
        logger.info("%-10s %7.1f s  %5.1f%%", stage, secs, 100 * secs / total)


# --- argument parsing ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="textmine",
        description="Mine consultation responses: ingest, language, entities, themes, summaries, report.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str, *, corpus: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--out", type=Path, default=Path("corpora/interim"),
                       help="folder of the stage tables (default: corpora/interim)")
        p.add_argument("--params", type=Path, default=None,
                       help="params.yaml to read (default: ./params.yaml if present)")
        p.add_argument("--reports", type=Path, default=None,
                       help="folder for tables, figures and the Chair's summary "
                            "(default: reports/, or OUT/reports for `run`)")
        if corpus:
            p.add_argument("--corpus", type=Path, default=None,
                           help="consultation folder (default: base.corpus in params)")
        return p

    add("run", "run every stage on a corpus", corpus=True)
    add("ingest", "files -> manifest, documents, pages, segments", corpus=True)
    add("language", "segments -> languages")
    add("entities", "segments -> entity mentions with canonical ids")
    add("actors", "documents -> stakeholder types, actor ids, text-reuse clusters")
    add("themes", "segments -> theme scores and sub-themes", corpus=True)
    rv = add("review", "apply the analyst's decisions (corpus review.yaml) to the tables", corpus=True)
    rv.add_argument("action", nargs="?", choices=("apply", "export", "import"), default="apply",
                    help="apply review.yaml (default), export a review workbook, or import one")
    rv.add_argument("--workbook", type=Path, default=Path("reports/review.xlsx"),
                    help="review workbook to write (export) or read (import)")
    rv.add_argument("--review-file", type=Path, default=None,
                    help="review file to update on import (default: CORPUS/review.yaml)")
    rv.add_argument("--reviewer", default=None, help="name recorded with imported decisions")
    add("summarize", "tables -> reports/tables/*.csv|xlsx, metrics.json")
    add("report", "summaries -> reports/chair_summary.{md,docx,html}, figures")
    tr = add("track", "follow actors and themes across consultations (several run folders)")
    tr.add_argument("runs", nargs="+", type=Path,
                    help="output folders of `textmine run`/`dvc repro`, one per consultation")
    ev = add("evaluate", "score the tables against a gold CSV")
    ev.add_argument("--gold", type=Path, required=True, help="gold CSV (see DESIGN.md)")
    ev.add_argument("--metrics", type=Path, default=None,
                    help="JSON file to write (default: REPORTS/evaluation.json)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    parallel.SHOW_PROGRESS = sys.stderr.isatty()
    parallel.limit_math_threads()
    params = args.params or (Path("params.yaml") if Path("params.yaml").exists() else None)
    try:
        cfg = load_config(params)
    except ConfigError as exc:
        print(f"textmine: {exc}", file=sys.stderr)
        return 2
    if args.reports is None:
        args.reports = args.out / "reports" if args.command == "run" else Path("reports")
    try:
        if args.command == "run":
            stage_run(args, cfg)
        elif args.command == "evaluate":
            stage_evaluate(args, cfg)
        elif args.command == "track":
            stage_track(args, cfg)
        elif args.command == "review" and args.action != "apply":
            {"export": stage_review_export, "import": stage_review_import}[args.action](args, cfg)
        else:
            STAGE_FUNCS[args.command](args, cfg)
    except (FileNotFoundError, ConfigError) as exc:
        print(f"textmine {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


def entry() -> NoReturn:
    """The ``textmine`` command: :func:`main`, then :func:`exit_now`."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """Exit with ``code`` without tearing the interpreter down.

    Freeing a stage's objects one by one at exit (hundreds of thousands of segments,
    the frames, the imported modules) takes 0.3-0.4 s, as long as an incremental
    stage's own work. Everything an exit must do still runs first: the ``atexit``
    handlers (Dask clients, sandbox children, multiprocessing's children, temporary
    folders, logging) and the flush of the standard streams; outputs were written and
    closed by then. While a non-daemon thread still runs (the normal exit waits for it),
    or under a profiler or tracer (they write their data after the program), the exit
    is the normal one.
    """
    busy = any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread())
    if busy or sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
