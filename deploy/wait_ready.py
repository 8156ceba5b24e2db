"""Wait until the backend says it is ready (GET /ready answers 200), or fail with its last answer.

rxshop-backend.service runs it as ExecStartPost, so `systemctl start|restart rxshop-backend` (and a deploy
script behind it) succeeds only once the workers can write to the database and to Redis, and fails with the
reason in the journal otherwise ("database": "disk full", "redis": "unreachable", ...). Standard library
only: it runs from the service's virtualenv before anything else is known to work.

    python deploy/wait_ready.py http://127.0.0.1:8000/ready --timeout 60
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request


def probe(url: str) -> tuple[int, str]:
    """(HTTP status, body); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as err:
        return 0, str(getattr(err, "reason", err))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the backend's /ready, e.g. http://127.0.0.1:8000/ready")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait (default 60)")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    status, body = probe(args.url)
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        status, body = probe(args.url)
    if status == 200:
        print(f"Ready: {body}")
        return 0
    print(f"Not ready after {args.timeout:g} s: {status or 'no answer'} {body}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
