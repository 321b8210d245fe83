"""A seeded synthetic shop for benchmarks: power-law item popularity, customers with a few
tastes, a year of timestamps; written as a canonical purchases Parquet file (+ catalog).

Vectorised end to end (no Python loop over lines or customers), so 10M purchase lines take
seconds. Each customer gets one to three *tastes* (item groups); a line picks one of them and
then an item of that group by popularity, or, with `explore` probability, any item by global
popularity. Lines come in baskets that share a timestamp (one shopping trip).

Shapes (`--shape`): `default` is the shop above (500 tastes, 1-3 per customer, log-normal
activity with sigma 1, baskets of ~4 lines); `narrow` is a differently shaped one, so a
result does not hold only for one generator: 100 tastes, 1-2 per customer (each customer's
items concentrate on fewer, larger groups), a more skewed activity (sigma 1.6: many one-line
customers, a few with thousands of lines) and larger baskets (~10 lines).

    python -m benchmarks.synthetic --customers 1000000 --items 50000 --lines 10000000 \\
        [--shape narrow] [--out data.parquet]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

YEAR_START = np.datetime64("2024-01-01T00:00:00", "s")
YEAR_SECONDS = 366 * 86400


@dataclass(frozen=True)
class ShopSpec:
    customers: int = 1_000_000
    items: int = 50_000
    lines: int = 10_000_000
    tastes: int = 500  # item groups customers have a taste for
    max_tastes: int = 3  # each customer has 1 .. max_tastes of them
    activity_sigma: float = 1.0  # lines per customer ~ log-normal(0, sigma): the activity skew
    zipf_exponent: float = 1.0  # item popularity ~ 1 / (rank + 10) ** exponent
    explore: float = 0.15  # share of lines picked by global popularity, not by taste
    mean_basket: float = 4.0  # mean lines per shopping trip
    seed: int = 42
    shape: str = "default"  # the name of the preset (`SHAPES`), part of the file name


# Presets of the parameters that shape the data (sizes and seed are given separately).
SHAPES: dict[str, dict[str, float | int]] = {
    "default": {},
    "narrow": {"tastes": 100, "max_tastes": 2, "activity_sigma": 1.6, "mean_basket": 10.0},
}


@dataclass(frozen=True)
class Purchases:
    """Integer codes; ids are rendered only when written."""

    customer: np.ndarray  # int32 code per line
    item: np.ndarray  # int32 code per line (0 = most popular item)
    timestamp: np.ndarray  # datetime64[s]
    quantity: np.ndarray  # int32
    price: np.ndarray  # float64
    item_taste: np.ndarray  # taste (group) of each item
    item_price: np.ndarray  # list price of each item


def popularity_weights(n_items: int, exponent: float) -> np.ndarray:
    """Zipf-like weight of item rank r (0 = most popular)."""
    w = 1.0 / np.power(np.arange(n_items, dtype=np.float64) + 10.0, exponent)
    return w / w.sum()


def lines_per_customer(rng: np.random.Generator, spec: ShopSpec) -> np.ndarray:
    """Every customer has at least one line; the rest follow a heavy-tailed activity."""
    activity = rng.lognormal(0.0, spec.activity_sigma, spec.customers)
    extra = rng.multinomial(spec.lines - spec.customers, activity / activity.sum())
    return (extra + 1).astype(np.int64)


def sample_by_weight(rng: np.random.Generator, cumulative: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Index i with probability ~ weight i, restricted per draw to the cumulative range [lo, hi)."""
    u = lo + rng.random(len(lo)) * (hi - lo)
    return np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)


def generate(spec: ShopSpec) -> Purchases:
    if spec.lines < spec.customers:
        raise ValueError("need at least one line per customer")
    rng = np.random.default_rng(spec.seed)
    weight = popularity_weights(spec.items, spec.zipf_exponent)
    item_taste = rng.integers(0, spec.tastes, spec.items)
    # Items sorted by taste: each taste is one contiguous slice of a cumulative weight array.
    by_taste = np.argsort(item_taste, kind="stable")
    cum_taste = np.cumsum(weight[by_taste])
    bounds = np.concatenate([[0.0], cum_taste])  # taste t spans bounds[start_t] .. bounds[end_t]
    sorted_tastes = item_taste[by_taste]
    taste_lo = bounds[np.searchsorted(sorted_tastes, np.arange(spec.tastes), side="left")]
    taste_hi = bounds[np.searchsorted(sorted_tastes, np.arange(spec.tastes), side="right")]
    taste_weight = taste_hi - taste_lo  # 0 for a taste without items: never picked

    counts = lines_per_customer(rng, spec)
    customer = np.repeat(np.arange(spec.customers, dtype=np.int32), counts)
    n_tastes = rng.integers(1, spec.max_tastes + 1, spec.customers)
    tastes = rng.choice(spec.tastes, size=(spec.customers, spec.max_tastes), p=taste_weight / taste_weight.sum())
    slot = (rng.random(spec.lines) * n_tastes[customer]).astype(np.int64)
    taste = tastes[customer, slot]
    item = by_taste[sample_by_weight(rng, cum_taste, taste_lo[taste], taste_hi[taste])]
    explore = rng.random(spec.lines) < spec.explore
    cum_all = np.cumsum(weight)
    item[explore] = sample_by_weight(rng, cum_all, np.zeros(explore.sum()), np.ones(explore.sum()) * cum_all[-1])

    timestamp = basket_timestamps(rng, customer, counts, spec.mean_basket)
    item_price = np.round(np.exp(rng.normal(1.0, 0.8, spec.items)), 2) + 0.19
    quantity = rng.geometric(0.6, spec.lines).astype(np.int32)
    return Purchases(customer, item.astype(np.int32), timestamp, quantity, item_price[item], item_taste, item_price)


def basket_timestamps(
    rng: np.random.Generator, customer: np.ndarray, counts: np.ndarray, mean_basket: float
) -> np.ndarray:
    """Consecutive lines of a customer form trips of ~`mean_basket` lines sharing one time."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    position = np.arange(len(customer)) - starts
    basket_size = rng.integers(1, int(2 * mean_basket), len(counts))
    trip = customer.astype(np.int64) * len(customer) + position // basket_size[customer]
    new_trip = np.ones(len(trip), dtype=bool)
    new_trip[1:] = trip[1:] != trip[:-1]
    trip_index = np.cumsum(new_trip) - 1
    trip_second = rng.integers(0, YEAR_SECONDS, int(new_trip.sum()))
    return YEAR_START + trip_second[trip_index].astype("timedelta64[s]")


def id_strings(prefix: str, n: int) -> pa.Array:
    return pa.array([f"{prefix}{i:07d}" for i in range(n)], type=pa.string())


def purchases_table(p: Purchases, n_customers: int, n_items: int) -> pa.Table:
    """Canonical columns: ids as strings (built once per id, then gathered in Arrow)."""
    return pa.table(
        {
            "customer_id": id_strings("C", n_customers).take(pa.array(p.customer)),
            "item_id": id_strings("I", n_items).take(pa.array(p.item)),
            "timestamp": pa.array(p.timestamp, type=pa.timestamp("s")),
            "quantity": pa.array(p.quantity),
            "price": pa.array(p.price),
        }
    )


def catalog_table(p: Purchases, n_items: int, rng: np.random.Generator) -> pa.Table:
    """Every item, a few unavailable (as a real catalog has)."""
    return pa.table(
        {
            "item_id": id_strings("I", n_items),
            "title": pa.array([f"item {i} of taste {t}" for i, t in enumerate(p.item_taste.tolist())]),
            "price": pa.array(p.item_price),
            "category": pa.array([f"taste-{t}" for t in p.item_taste.tolist()]),
            "available": pa.array(rng.random(n_items) > 0.02),
        }
    )


def write(spec: ShopSpec, out: Path, catalog: Path | None = None) -> Purchases:
    p = generate(spec)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(purchases_table(p, spec.customers, spec.items), out)
    if catalog is not None:
        pq.write_table(catalog_table(p, spec.items, np.random.default_rng(spec.seed + 1)), catalog)
    return p


def add_spec_arguments(ap: argparse.ArgumentParser, shape: bool = True) -> None:
    """--customers --items --lines --seed (and --shape), for every benchmark that generates a shop."""
    for name in ("customers", "items", "lines", "seed"):
        ap.add_argument(f"--{name}", type=int, default=getattr(ShopSpec, name))
    if shape:
        ap.add_argument("--shape", choices=sorted(SHAPES), default="default", help="the data's shape (see the module)")


def shop_spec(shape: str = "default", **sizes: int) -> ShopSpec:
    """The preset `shape` at the given sizes (`customers`, `items`, `lines`, `seed`)."""
    return ShopSpec(**sizes, **SHAPES[shape], shape=shape)  # type: ignore[arg-type]  # presets are typed by name


def spec_from_arguments(args: argparse.Namespace) -> ShopSpec:
    return shop_spec(args.shape, customers=args.customers, items=args.items, lines=args.lines, seed=args.seed)


def default_path(workdir: Path, spec: ShopSpec) -> Path:
    """One file name per shop, so a generated shop is found again (the generator is seeded);
    the default shape keeps the name it always had."""
    shape = "" if spec.shape == "default" else f"-{spec.shape}"
    return workdir / f"synthetic{shape}-{spec.customers}c-{spec.items}i-{spec.lines}l-s{spec.seed}.parquet"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_spec_arguments(ap)
    ap.add_argument("--out", type=Path, help="purchases .parquet to write (default: named after the sizes)")
    ap.add_argument("--workdir", type=Path, default=Path(".bench"), help="where the default --out goes")
    ap.add_argument("--catalog", type=Path, help="also write a catalog .parquet here")
    args = ap.parse_args(argv)
    spec = spec_from_arguments(args)
    args.out = args.out or default_path(args.workdir, spec)
    start = time.perf_counter()
    write(spec, args.out, args.catalog)
    print(
        f"wrote {spec.lines} lines ({spec.customers} customers, {spec.items} items) to {args.out} "
        f"in {time.perf_counter() - start:.1f}s"
    )


if __name__ == "__main__":
    main()
