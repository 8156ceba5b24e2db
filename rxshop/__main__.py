"""Command line: `python -m rxshop migrate`, `python -m rxshop reconcile [--since 72h]`, and
`python -m rxshop stock show` / `python -m rxshop stock set <product> <count|untracked> [--low N]`."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rxshop", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    reconcile = commands.add_parser(
        "reconcile", help="bring orders to their true state from Stripe's sessions"
    )
    reconcile.add_argument("--since", default="72h", help="how far back to look: 30m, 72h, 7d (default 72h)")
    stock = commands.add_parser("stock", help="show or set the stock of the products").add_subparsers(
        dest="stock_command", required=True
    )
    stock.add_parser("show", help="every product's stock: for sale, held by open checkouts, free")
    stock_set = stock.add_parser("set", help="set a product's count of units for sale")
    stock_set.add_argument("product", help="the product's id: mug, tote, notebook")
    stock_set.add_argument("count", help="units for sale now (held ones included), or `untracked`")
    stock_set.add_argument("--low", help="say 'Only N left' and tell the owner at this many or fewer")
    args = parser.parse_args(argv)

    from rxshop.core.settings import SettingsError, get_settings

    try:
        settings = get_settings()
    except SettingsError as err:
        print(err, file=sys.stderr)
        return 2
    if args.command == "migrate":
        from sqlalchemy.engine import make_url

        from rxshop.core.db import migrate

        migrate(settings.database_url)
        # Printed into logs (systemd's journal): never the password.
        print(
            f"Database is up to date: {make_url(settings.database_url).render_as_string(hide_password=True)}"
        )
        return 0
    if args.command == "stock":
        from rxshop.orders import stock_cli

        if args.stock_command == "show":
            return stock_cli.show()
        return stock_cli.set_count(args.product, args.count, args.low)
    from rxshop.orders.reconcile import main as reconcile_main

    return reconcile_main(since=args.since, settings=settings)


if __name__ == "__main__":
    sys.exit(main())
