"""`microoffers train | publish | rollback | serve`.

Entry points configure logging and turn known failures into one clear line and a non-zero
exit; libraries below only raise and log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from models.artifact import ArtifactNotFoundError, load_artifact
from training.errors import InputError

app = typer.Typer(help="Micro-offers: train, publish and serve personalized recommendations.", no_args_is_help=True)

ArtifactsOpt = Annotated[
    Path, typer.Option("--artifacts", help="a `train --out` directory (newest version used) or one version in it")
]
RedisOpt = Annotated[Optional[str], typer.Option("--redis-url", envvar="REDIS_URL", help="redis://host:port/db")]  # noqa: UP045


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
        except (InputError, ArtifactNotFoundError, FileExistsError) as exc:
            _fail(str(exc))
        except ValueError as exc:
            _fail(str(exc))
        except _redis_errors() as exc:
            _fail(f"redis: {exc}")

    return wrapper


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError,)


def _progress(message: str) -> None:
    typer.echo(f"  {message}", err=True)


@app.command()
@clear_errors
def train(
    purchases: Annotated[Path, typer.Option("--purchases", help="purchases file, CSV or Parquet")],
    out: Annotated[Path, typer.Option("--out", help="artifacts directory; each run adds a version")],
    fmt: Annotated[str, typer.Option("--format", help="canonical | online-retail")] = "canonical",
    catalog: Annotated[Optional[Path], typer.Option("--catalog", help="optional catalog file")] = None,  # noqa: UP045
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Train on a purchase history and write a new artifact version under OUT."""
    from training.pipeline import TrainInputs
    from training.pipeline import train as run_training

    _setup_logging(verbose)
    if fmt not in ("canonical", "online-retail"):
        _fail(f"--format must be canonical or online-retail, not {fmt!r}")
    typer.echo(f"training on {purchases} ({fmt})", err=True)
    path = run_training(TrainInputs(purchases, fmt, catalog), out, progress=_progress)  # type: ignore[arg-type]
    typer.echo(str(path))


@app.command()
@clear_errors
def publish(
    artifacts: ArtifactsOpt,
    redis_url: RedisOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="processes encoding and writing documents")] = 1,
    verbose: bool = False,
) -> None:
    """Write an artifact's offers into Redis under a new version, then switch to it atomically."""
    import redis
    from tqdm import tqdm

    from training.publish import publish as run_publish

    _setup_logging(verbose)
    if not redis_url:
        _fail("--redis-url (or REDIS_URL) is required")
    artifact = load_artifact(artifacts)
    client = redis.Redis.from_url(redis_url)  # type: ignore[arg-type]
    with tqdm(total=len(artifact.customers), unit="customers", file=sys.stderr, disable=None) as bar:
        report = run_publish(artifact, client, progress=lambda done, _n: bar.update(done - bar.n), workers=workers)
    typer.echo(
        f"published {report.version} ({report.customers} customers, {report.customers_per_second:.0f}/s); "
        f"previous: {report.previous or 'none'}"
    )


@app.command()
@clear_errors
def rollback(redis_url: RedisOpt = None) -> None:
    """Serve the previously published version again."""
    import redis

    from training.publish import rollback as run_rollback

    if not redis_url:
        _fail("--redis-url (or REDIS_URL) is required")
    version = run_rollback(redis.Redis.from_url(redis_url))  # type: ignore[arg-type]
    typer.echo(f"now serving {version}")


@app.command()
@clear_errors
def serve(
    artifacts: ArtifactsOpt = Path("artifacts"),
    redis_url: RedisOpt = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
) -> None:
    """Serve the HTTP API (embedded store from ARTIFACTS unless a Redis URL is given)."""
    import os

    import uvicorn

    load_artifact(artifacts)  # fail fast with a clear message, before the server starts
    os.environ["MICROOFFERS_ARTIFACTS"] = str(artifacts)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    _setup_logging(True)
    uvicorn.run("service.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
