"""My Orders' read in-process, three versions of `list_orders` alternated on one seeded database.

Not through the websocket (bench/my_orders.py is): this isolates the database and ORM time of the read,
which the round trip hides under a shared machine's noise. Versions from git: the safety branch (count,
page, lines: 3 queries), the page with count(*) OVER () then its lines (2), and the page as a subquery
joined with its lines (1).

    python bench/experiments/my_orders_micro.py [DATABASE_URL]      # default: a new SQLite file
"""

import importlib.util
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "bench")]
os.environ.setdefault("RXSHOP_ENV_FILE", "")

from _seed import rxshop_orders  # noqa: E402

from rxshop.core.db import get_engine, migrate, new_session  # noqa: E402
from rxshop.domain.lifecycle import LISTED_STATUSES  # noqa: E402

VERSIONS = {"3 queries": "0d1dcc2", "2 queries": "b7a3fc5", "1 query": "399ce88"}


def version(name: str, commit: str):
    source = subprocess.run(
        ["git", "show", f"{commit}:rxshop/orders.py"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"orders_{commit}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"orders_{commit}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/orders.db"
    modules = {name: version(name, commit) for name, commit in VERSIONS.items()}
    migrate(url)
    rxshop_orders(url, 100_000, status="paid", spread_days=90)
    visitor = secrets.token_hex(16)
    rxshop_orders(url, 50, visitor_id=visitor, status="paid", spread_days=90)
    engine = get_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    times: dict[str, list[float]] = {name: [] for name in modules}
    for i in range(300):
        for name, module in modules.items():
            with new_session(engine) as session:
                started = time.perf_counter()
                page = module.list_orders(
                    session=session,
                    visitor_id=visitor,
                    offset=(i % 2) * 20,
                    limit=20,
                    statuses=LISTED_STATUSES,
                )
                times[name].append(time.perf_counter() - started)
            assert page.total == 50 and len(page.orders) == 20
    for name, values in times.items():
        print(
            f"{name}: median {statistics.median(values) * 1000:.2f} ms, p90 {sorted(values)[269] * 1000:.2f} ms"
        )


if __name__ == "__main__":
    main()
