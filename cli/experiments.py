"""`microoffers experiment start | stop | status`: the admin endpoints' work, straight on Redis
(every worker of the service reads the running experiment from there with each answer)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Optional, TypeVar

import orjson
import typer

from models.contract.experiments import HOLDOUT, Variant

T = TypeVar("T")

experiment_app = typer.Typer(
    help="Online experiments: model versions or a hold-out against the control.", no_args_is_help=True
)
RedisOpt = Annotated[
    str | None,
    typer.Option(
        "--redis-url", envvar="REDIS_URL", help="redis://host:port/db, or redis+cluster://host:port for a Redis Cluster"
    ),
]  # noqa: UP045


def parse_variant(spec: str) -> Variant:
    """`NAME` (the served version), `NAME=VERSION`, `NAME=popular` (a hold-out), `...:WEIGHT`."""
    head, _, weight = spec.partition(":")
    name, _, target = head.partition("=")
    try:
        share = float(weight) if weight else 1.0
    except ValueError as exc:
        raise typer.BadParameter(f"{spec!r}: the weight after ':' must be a number") from exc
    if target == "popular":
        return Variant(name, None, "popular", share)
    return Variant(name, target or None, "personal", share)


def _run(redis_url: str | None, work: Callable[..., Awaitable[T]]) -> T:
    from service.storage.experiments import RedisExperiments
    from service.storage.stores import RedisStore

    if not redis_url:
        raise typer.BadParameter("--redis-url (or REDIS_URL) is required")

    async def go() -> T:
        store = RedisStore(redis_url, timeout_s=5.0)
        try:
            return await work(store, RedisExperiments(store.client, store.guard))
        finally:
            await store.close()

    return asyncio.run(go())


@experiment_app.command("start")
def start(
    experiment_id: Annotated[str, typer.Argument(help="a name: letters, digits, _ and -")],
    variant: Annotated[
        list[str],
        typer.Option(
            "--variant", help="NAME, NAME=VERSION or NAME=popular, optionally :WEIGHT; the first is the control"
        ),
    ],
    holdout: Annotated[
        float, typer.Option("--holdout", min=0.0, max=0.99, help="share of customers getting best-sellers only")
    ] = 0.0,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.001, max=0.49, help="false-positive rate of the sequential test")
    ] = 0.05,
    redis_url: RedisOpt = None,
) -> None:
    """Start an experiment (one runs at a time)."""
    from service.core import experiments

    variants = tuple(parse_variant(v) for v in variant)
    if holdout > 0:
        rest = sum(v.weight for v in variants)
        variants += (Variant(HOLDOUT, None, "popular", rest * holdout / (1 - holdout)),)

    async def work(store, tallies):  # type: ignore[no-untyped-def]
        return await experiments.start(tallies, store, experiment_id, variants, int(time.time() * 1000), alpha)

    try:
        started = _run(redis_url, work)
    except experiments.ExperimentError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    shares = started.shares()
    typer.echo(
        f"started {started.id}: "
        + ", ".join(f"{v.name} {shares[v.name]:.0%} ({v.version or v.policy})" for v in started.variants)
    )


@experiment_app.command("stop")
def stop(experiment_id: str, redis_url: RedisOpt = None) -> None:
    """Stop it: every customer gets the served version again; results stay readable."""

    async def work(store, tallies):  # type: ignore[no-untyped-def]
        found = await tallies.get(experiment_id)
        if found is None or not found.running:
            return None
        return await tallies.stop(found, int(time.time() * 1000))

    if _run(redis_url, work) is None:
        typer.echo(f"error: no running experiment {experiment_id!r}", err=True)
        raise typer.Exit(2)
    typer.echo(f"stopped {experiment_id}")


@experiment_app.command("status")
def status(experiment_id: Annotated[Optional[str], typer.Argument()] = None, redis_url: RedisOpt = None) -> None:  # noqa: UP045
    """Without an id: every experiment, one line each; with one: its results as JSON (as
    `GET /experiments/{id}` answers)."""
    from service.core import experiment_results

    async def work(store, tallies):  # type: ignore[no-untyped-def]
        if experiment_id is None:
            return await tallies.definitions()
        found = await tallies.get(experiment_id)
        return (
            None
            if found is None
            else experiment_results.results(found, await tallies.tallies(found), int(time.time() // 86_400))
        )

    found = _run(redis_url, work)
    if found is None:
        typer.echo(f"error: no experiment {experiment_id!r}", err=True)
        raise typer.Exit(2)
    if experiment_id is None:
        for e in found:
            typer.echo(f"{e.id}\t{'running' if e.running else 'stopped'}\t" + ",".join(e.variant_names))
        return
    typer.echo(orjson.dumps(found.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
