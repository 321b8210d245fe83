"""`microoffers train | evaluate | publish | export | rollback | serve | events export | marketer-hash`.

Entry points configure logging and turn known failures into one clear line and a non-zero
exit; libraries below only raise and log.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, cast

import typer

from cli.experiments import experiment_app
from models.contract.artifact import ArtifactNotFoundError, load_artifact
from training.errors import InputError, QualityGateError

if TYPE_CHECKING:
    from models.rules.business import RuleSet
    from training.data.clean import CleanResult
    from training.data.load import Format
    from training.selection.ranker import TwoStageMode

FORMATS = ("canonical", "online-retail")  # training.data.load.Format, without importing pandas here

app = typer.Typer(help="Micro-offers: train, publish and serve personalized recommendations.", no_args_is_help=True)
events_app = typer.Typer(help="The feedback event log (POST /events).", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(experiment_app, name="experiment")

ArtifactsOpt = Annotated[
    Path, typer.Option("--artifacts", help="a `train --out` directory (newest version used) or one version in it")
]
RedisOpt = Annotated[
    str | None,
    typer.Option(
        "--redis-url", envvar="REDIS_URL", help="redis://host:port/db, or redis+cluster://host:port for a Redis Cluster"
    ),
]  # noqa: UP045

# Bounds of the numeric options: a value outside them is a usage error (exit 2) before anything
# runs, never a silently different behaviour (uvicorn took --port 99999 as "any free port").
MAX_WORKERS = 64  # processes; more is a typo on any machine this runs on
MAX_TUNE_BUDGET_S = 86_400.0
MAX_WINDOWS = 52  # a year of weekly windows
MAX_CUTOFF = 100  # evaluation cut-offs, as many as /recommend answers at most
TwoStageOpt = Annotated[
    str,
    typer.Option(
        "--two-stage",
        help="the learned two-stage ranker: auto (tried within the budget, kept when it wins) | always | never",
    ),
]
TuneBudgetOpt = Annotated[float, typer.Option("--tune-budget", help="seconds of tuning", min=0, max=MAX_TUNE_BUDGET_S)]


def _non_empty(value: str) -> str:
    if not value.strip():
        raise typer.BadParameter("must not be empty")
    return value


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def clear_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures become one line on stderr and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QualityGateError as exc:
            _fail(str(exc), code=3)
        except (InputError, ArtifactNotFoundError, FileExistsError) as exc:
            _fail(str(exc))
        except ValueError as exc:
            _fail(str(exc))
        except _redis_errors() as exc:
            _fail(f"redis: {exc}")
        except OSError as exc:  # an output file or directory that cannot be written, a full disk
            _fail(f"{exc.filename or 'file'}: {exc.strerror or exc}")

    return wrapper


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError,)


def _progress(message: str) -> None:
    typer.echo(f"  {message}", err=True)


@contextmanager
def _cleaning_summary() -> Iterator[Callable[[CleanResult], None]]:
    """Collects the cleaning result and prints its summary when the block ends, however it ends:
    last on stderr after a success, just before the error line after a failure."""
    from training.data.clean_report import summary_lines

    seen: list[CleanResult] = []
    try:
        yield seen.append
    finally:
        if seen:
            typer.echo("\n".join(summary_lines(seen[-1])), err=True)


@app.command()
@clear_errors
def train(
    purchases: Annotated[Path, typer.Option("--purchases", help="purchases file, CSV or Parquet")],
    out: Annotated[Path, typer.Option("--out", help="artifacts directory; each run adds a version")],
    fmt: Annotated[str, typer.Option("--format", help="canonical | online-retail")] = "canonical",
    catalog: Annotated[Optional[Path], typer.Option("--catalog", help="optional catalog file")] = None,  # noqa: UP045
    segments: Annotated[int, typer.Option("--segments", min=1, max=10_000, help="micro-segments before merging")] = 36,
    min_segment_size: Annotated[
        int, typer.Option("--min-segment-size", min=1, max=1_000_000, help="smallest segment")
    ] = 20,
    events_from: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--events-from", help="fold in feedback events: redis://… (the event stream) or a JSONL file"),
    ] = None,
    tune: Annotated[bool, typer.Option("--tune/--no-tune", help="tune models on a validation window")] = True,
    tune_budget: TuneBudgetOpt = 45.0,
    two_stage: TwoStageOpt = "auto",
    force: Annotated[bool, typer.Option("--force", help="publish even if it does not beat popularity")] = False,
    forget: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option(
            "--forget",
            help="deny list of customer ids to leave out (repeatable); OUT/privacy/forgotten.txt is always read",
        ),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="single (this machine) | spark")] = "single",
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="with --engine spark: local[N] or spark://HOST:7077")
    ] = "local[2]",
    spark_checkpoints: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--spark-checkpoint-dir", help="with --engine spark: ALS checkpoints (shared storage on a cluster)"
        ),
    ] = None,
    spark_als_iterations: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--spark-als-iterations",
            min=1,
            max=100,
            help="with --engine spark: ALS sweeps (default 15; each is a few Spark jobs, checkpointed every 5)",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Train on a purchase history and write a new artifact version under OUT.

    Models are tuned on the last weeks of the data; the run refuses (exit code 3, nothing
    written) when the result does not beat popularity there, unless --force.
    """
    from training.data.events import gap_warning
    from training.evaluation.report import render_markdown
    from training.pipeline import TrainInputs, TrainParams
    from training.pipeline import train as run_training
    from training.selection.select import QualityParams
    from training.storefront.build import StoreParams
    from training.storefront.segments import SegmentParams

    _setup_logging(verbose)
    purchase_format = _check_format(fmt)
    typer.echo(f"training on {purchases} ({fmt})", err=True)
    params = TrainParams(
        store=StoreParams(segments=SegmentParams(n_segments=segments, min_size=min_segment_size)),
        quality=QualityParams(tune=tune, tune_budget_s=tune_budget, force=force, two_stage=_check_two_stage(two_stage)),
    )
    inputs = TrainInputs(purchases, purchase_format, catalog, events_from, tuple(forget or ()))
    if engine not in ("single", "spark"):
        _fail(f"--engine must be single or spark, not {engine!r}")
    with _cleaning_summary() as on_clean:
        if engine == "spark":
            from training.engines.spark.job import train_on_spark

            if spark_als_iterations is not None:
                params = params.model_copy(
                    update={"als": params.als.model_copy(update={"iterations": spark_als_iterations})}
                )

            artifact = train_on_spark(
                inputs, out, params, spark_master, _progress, on_clean, checkpoint_dir=spark_checkpoints
            )
        else:
            artifact = run_training(inputs, out, params, progress=_progress, on_clean=on_clean)
        metrics = artifact.metrics
        if metrics.get("metrics"):
            typer.echo("\n" + render_markdown(metrics), err=True)
        if metrics.get("forced"):
            typer.secho(
                "warning: published with --force although it does not beat popularity", err=True, fg=typer.colors.YELLOW
            )
        late = gap_warning(artifact.manifest.get("events") or {})
        if late:
            typer.secho(f"warning: {late}", err=True, fg=typer.colors.YELLOW)
    typer.echo(str(artifact.path))


def _check_two_stage(mode: str) -> TwoStageMode:
    if mode not in ("auto", "always", "never"):
        _fail(f"--two-stage must be auto, always or never, not {mode!r}")
    return cast("TwoStageMode", mode)


def _check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        _fail(f"--format must be canonical or online-retail, not {fmt!r}")
    return cast("Format", fmt)


@app.command()
@clear_errors
def evaluate(
    purchases: Annotated[Path, typer.Option("--purchases", help="purchases file, CSV or Parquet")],
    fmt: Annotated[str, typer.Option("--format", help="canonical | online-retail")] = "canonical",
    test_days: Annotated[
        int, typer.Option("--test-days", help="the last N days are the test window", min=1, max=3650)
    ] = 28,
    windows: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--windows",
            min=1,
            max=MAX_WINDOWS,
            help="rolling-origin backtest over this many consecutive test windows (default 1; 4 with --compare)",
        ),
    ] = None,
    compare: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option("--compare", help="two artifacts (--compare A --compare B): B against A on the same windows"),
    ] = None,
    k: Annotated[str, typer.Option("--k", help=f"cut-offs 1..{MAX_CUTOFF}, comma-separated")] = "10,20",
    tune: Annotated[bool, typer.Option("--tune/--no-tune", help="tune models on a validation window")] = True,
    tune_budget: TuneBudgetOpt = 45.0,
    two_stage: TwoStageOpt = "auto",
    out: Annotated[Path, typer.Option("--out", help="artifacts directory; the report goes to OUT/evaluations/")] = Path(
        "artifacts"
    ),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Compare every model with the baselines on a temporal split (or --windows N consecutive
    ones), or two saved artifacts with --compare A --compare B; write report.html and metrics.json."""
    from training.evaluation.backtest import run_backtest
    from training.evaluation.compare import compare_artifacts
    from training.evaluation.protocol import run_protocol
    from training.evaluation.report import render_markdown, write_report
    from training.evaluation.split import TemporalSplit
    from training.pipeline import StepTimer, TrainInputs, load_and_clean

    _setup_logging(verbose)
    purchase_format = _check_format(fmt)
    ks = _cutoffs(k)
    if compare is not None and len(compare) != 2:
        _fail(f"--compare takes two artifacts (--compare A --compare B), not {len(compare)}")
    with _cleaning_summary() as on_clean:
        cleaned = load_and_clean(
            TrainInputs(purchases, purchase_format),
            StepTimer(progress=_progress),  # type: ignore[arg-type]
            on_clean=on_clean,
        )
        splitter = TemporalSplit(test_days)
        mode = _check_two_stage(two_stage)
        if compare is not None:
            typer.echo(f"comparing {compare[1]} (B) against {compare[0]} (A), both refitted per window ...", err=True)
            result = compare_artifacts(cleaned.purchases, splitter, windows or 4, (compare[0], compare[1]), ks)
        elif windows and windows > 1:
            typer.echo(f"backtesting on {windows} windows, each tuned on the window before it ...", err=True)
            result = run_backtest(
                cleaned.purchases, splitter, windows, ks, tune_models=tune, budget_s=tune_budget, two_stage=mode
            )
        else:
            typer.echo("evaluating (tuning on a validation window before the test window) ...", err=True)
            result = run_protocol(
                cleaned.purchases, splitter, ks, tune_models=tune, budget_s=tune_budget, two_stage=mode
            )
        typer.echo(render_markdown(result))
        report = write_report(result, out / "evaluations")
        typer.echo(f"report: {report}")
        typer.echo(f"json: {report.parent / 'metrics.json'}")


def _cutoffs(k: str) -> list[int]:
    try:
        ks = sorted({int(x) for x in k.split(",") if x.strip()})
    except ValueError:
        ks = []
    if not ks or min(ks) < 1 or max(ks) > MAX_CUTOFF:
        _fail(f"--k must be integers 1..{MAX_CUTOFF} separated by commas, not {k!r}")
    return ks


@app.command()
@clear_errors
def publish(
    artifacts: ArtifactsOpt,
    redis_url: RedisOpt = None,
    chunk_size: Annotated[int, typer.Option(min=1, max=1_000_000, help="documents per pipelined round trip")] = 4096,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=MAX_WORKERS, help="processes encoding and writing documents")
    ] = 1,
    verbose: bool = False,
) -> None:
    """Write an artifact's offers into Redis under a new version, then switch to it atomically.
    Customers on the deny list (the Redis set and ARTIFACTS' privacy/forgotten.txt, merged) are
    left out."""
    from tqdm import tqdm

    from models.contract.artifact import artifacts_root
    from models.rules.privacy import forgotten_path, read_forgotten
    from training import redis_client
    from training.publish_partitions import publish_artifact as run_publish

    _setup_logging(verbose)
    if not redis_url:
        _fail("--redis-url (or REDIS_URL) is required")
    artifact = load_artifact(artifacts)
    forgotten = read_forgotten(forgotten_path(artifacts_root(artifacts)))
    client = redis_client.connect(redis_url)  # type: ignore[arg-type]  # _fail does not return
    with tqdm(total=len(artifact.customers), unit="customers", file=sys.stderr, disable=None) as bar:
        report = run_publish(
            artifact,
            client,
            chunk_size,
            progress=lambda done, _n: bar.update(done - bar.n),
            workers=workers,
            forgotten=forgotten,
        )
    typer.echo(
        f"published {report.version} ({report.customers} customers, {report.customers_per_second:.0f}/s); "
        f"previous: {report.previous or 'none'}"
    )


@app.command()
@clear_errors
def export(
    artifacts: ArtifactsOpt,
    segment: Annotated[Optional[int], typer.Option("--segment", min=0, help="one segment's offer")] = None,  # noqa: UP045
    all_customers: Annotated[bool, typer.Option("--all", help="every customer's offer, one row per item")] = False,
    fmt: Annotated[str, typer.Option("--format", help="csv")] = "csv",
    k: Annotated[int, typer.Option("--k", min=1, max=40, help="offers per segment or customer")] = 10,
    out: Annotated[Optional[Path], typer.Option("--out", help="file to write; default stdout")] = None,  # noqa: UP045
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="catalog day YYYY-MM-DD; default today")] = None,  # noqa: UP045
    redis_url: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--redis-url",
            help="with --all: also leave out the Redis deny list and what each customer's "
            "live state rules out (bought since, dismissed, returned, complained); business rules "
            "come from this Redis (else from the rules file beside the artifacts)",
        ),
    ] = None,
) -> None:
    """Write segment offers for CRM and e-mail tools: --segment ID (that segment's offer) or --all
    (every customer's offer: their segment's, minus what they bought; forgotten customers left out)."""
    from datetime import UTC, date, datetime

    from models.contract.artifact import artifacts_root
    from models.contract.export import CUSTOMER_COLUMNS, SEGMENT_COLUMNS, customer_rows, segment_rows
    from models.contract.spreadsheet_csv import write_csv
    from models.rules.privacy import forgotten_path, read_forgotten

    if fmt != "csv":
        _fail(f"--format must be csv, not {fmt!r}")
    if (segment is None) == (not all_customers):
        _fail("give exactly one of --segment ID or --all")
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        _fail(f"--as-of must be a date like 2024-05-31, not {as_of!r}")
    artifact = load_artifact(artifacts)
    rules, at = _business_rules(artifacts, redis_url), None if as_of else datetime.now(UTC)
    if segment is not None:
        rows, columns = segment_rows(artifact, segment, k, day, rules, at), SEGMENT_COLUMNS
    else:
        forgotten = read_forgotten(forgotten_path(artifacts_root(artifacts)))
        hidden: dict[str, frozenset[str]] = {}
        if redis_url:
            forgotten, hidden = _live_exclusions(redis_url, forgotten)
        rows, columns = customer_rows(artifact, k, day, forgotten, hidden, rules, at), CUSTOMER_COLUMNS
    first = next(rows, None)  # validates (e.g. an unknown segment) before any file is created
    stream = open(out, "w", newline="", encoding="utf-8") if out else sys.stdout  # noqa: SIM115
    try:
        n = write_csv(itertools.chain([first] if first else [], rows), columns, stream)
    finally:
        if out:
            stream.close()
    typer.echo(f"wrote {n} rows{f' to {out}' if out else ''}", err=True)


def _business_rules(artifacts: Path, redis_url: str | None) -> RuleSet:
    """The business rules the service applies: Redis' with --redis-url, else the file beside the artifacts."""
    import asyncio

    from models.contract.artifact import artifacts_root
    from service.storage.guard import RedisGuard
    from service.storage.rules_storage import FileRules, RedisRules, RuleStorage, rules_dir

    async def load() -> RuleSet:
        from service.storage import redis_client as async_redis

        client = async_redis.connect(redis_url) if redis_url else None
        storage: RuleStorage = (
            RedisRules(client, RedisGuard()) if client else FileRules(rules_dir(artifacts_root(artifacts)))
        )
        try:
            return await storage.load()
        finally:
            if client is not None:
                await client.aclose()

    return asyncio.run(load())


def _live_exclusions(redis_url: str, forgotten: set[str]) -> tuple[set[str], dict[str, frozenset[str]]]:
    """The Redis deny list merged with the file's, and per customer what live state rules out."""
    import asyncio
    import time

    from service.live.redis_state import RedisLiveState
    from service.live.state import LivePolicy
    from service.storage import redis_client as async_redis
    from training.data.forget import redis_deny_list

    async def read() -> dict[str, frozenset[str]]:
        client = async_redis.connect(redis_url)
        try:
            return await RedisLiveState(client, LivePolicy()).hidden_items(int(time.time() * 1000))
        finally:
            await client.aclose()

    return forgotten | redis_deny_list(redis_url), asyncio.run(read())


@app.command("migrate-keys")
@clear_errors
def migrate_keys(redis_url: RedisOpt = None) -> None:
    """Rename a Redis' keys written before hash tags to their tagged names (once, after upgrading;
    then publish again)."""
    from training import redis_client
    from training.key_migration import migrate_keys as run_migration

    if not redis_url:
        _fail("--redis-url (or REDIS_URL) is required")
    renamed = run_migration(redis_client.connect(redis_url))  # type: ignore[arg-type]  # _fail does not return
    typer.echo(f"renamed {len(renamed)} keys" + (f": {', '.join(renamed)}" if renamed else ""))


@app.command()
@clear_errors
def rollback(redis_url: RedisOpt = None) -> None:
    """Serve the previously published version again."""
    from training import redis_client
    from training.publish import rollback as run_rollback

    if not redis_url:
        _fail("--redis-url (or REDIS_URL) is required")
    version = run_rollback(redis_client.connect(redis_url))  # type: ignore[arg-type]  # _fail does not return
    typer.echo(f"now serving {version}")


@app.command()
@clear_errors
def serve(
    artifacts: ArtifactsOpt = Path("artifacts"),
    redis_url: RedisOpt = None,
    host: Annotated[str, typer.Option("--host", callback=_non_empty, help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=MAX_WORKERS, help="worker processes")] = 1,
    reuse_port: Annotated[
        bool,
        typer.Option("--reuse-port", help="bind with SO_REUSEPORT: several serve processes share the port (Linux)"),
    ] = False,
) -> None:
    """Serve the HTTP API (embedded store from ARTIFACTS unless a Redis URL is given)."""
    import os

    load_artifact(artifacts)  # fail fast with a clear message, before the server starts
    os.environ["MICROOFFERS_ARTIFACTS"] = str(artifacts)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    from cli import serve as server
    from service.observability.logs import configure_json_logging
    from service.settings import get_settings

    configure_json_logging()
    server.run(host, port, workers, reuse_port, get_settings().shutdown_timeout_s)


@events_app.command("export")
@clear_errors
def events_export(
    out: Annotated[Path, typer.Option("--out", help="JSONL file to write (what `train --events-from` reads)")],
    redis_url: RedisOpt = None,
    after: Annotated[Optional[str], typer.Option("--after", help="only events after this log id")] = None,  # noqa: UP045
) -> None:
    """Dump the event log from Redis as JSONL, oldest first."""
    from training.data.events import export_stream

    if not redis_url:
        _fail("--redis-url (or REDIS_URL) is required")
    n = export_stream(redis_url, out, after)  # type: ignore[arg-type]
    typer.echo(f"exported {n} events to {out}")


@app.command("marketer-hash")
@clear_errors
def marketer_hash(
    name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="the marketer's user name: prints `name:hash`, an entry of MICROOFFERS_MARKETERS"),
    ] = None,
) -> None:
    """Hash a preview password (scrypt, salted) for MICROOFFERS_MARKETERS. The password is asked
    twice without echo, or read as one line from standard input when that is not a terminal."""
    from service.preview.passwords import hash_password
    from service.settings import BASIC_USER, MARKETER_NAME

    if name is not None and (not MARKETER_NAME.fullmatch(name) or name == BASIC_USER):
        _fail(f"{name!r} is not a marketer name: 1-32 lowercase letters, digits and _ . - ({BASIC_USER!r} is reserved)")
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        _fail("the password needs 8 characters or more")
    encoded = hash_password(password)
    typer.echo(f"{name}:{encoded}" if name else encoded)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
