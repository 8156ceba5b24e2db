"""The simulator stands alone: it imports nothing from the rest of rxshop, and its own body cap answers
413 wherever it is served (here mounted in a bare Starlette app, with no middleware of the shop's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from rxshop.stripe_sim import Simulator
from rxshop.stripe_sim.limits import MAX_BODY_BYTES
from tests.fixtures.sim import TEST_API_KEY, serve_asgi

REPO = Path(__file__).resolve().parents[2]

# Imports the package, its CLI and every module in it, builds a simulator and its app, then names every
# rxshop module the interpreter loaded.
_PROBE = """
import json, pkgutil, sys, importlib
import rxshop.stripe_sim
import rxshop.stripe_sim.__main__ as cli
for module in pkgutil.walk_packages(rxshop.stripe_sim.__path__, "rxshop.stripe_sim."):
    importlib.import_module(module.name)
args = cli.parse_args(["--port", "12999", "--api-key", "sk_test_probe"])
sim = rxshop.stripe_sim.Simulator(api_keys=args.api_key, retry_delays=args.retry_delays)
assert sim.app.routes
print(json.dumps(sorted(name for name in sys.modules if name == "rxshop" or name.startswith("rxshop."))))
"""


def test_importing_the_simulator_loads_no_other_rxshop_module():
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "rxshop.stripe_sim.__main__" in loaded and "rxshop.stripe_sim.control.sessions" in loaded
    outside = [name for name in loaded if name != "rxshop" and not name.startswith("rxshop.stripe_sim")]
    assert outside == []


def _chunks(body: bytes) -> Iterator[bytes]:
    """No Content-Length: the cap is counted as the body streams in."""
    for start in range(0, len(body), 16 * 1024):
        yield body[start : start + 16 * 1024]


def test_the_bare_app_answers_a_stripe_shaped_413_past_its_own_cap():
    huge = b"mode=payment&pad=" + b"x" * (MAX_BODY_BYTES + 1)

    def make_app(base: str) -> Starlette:
        sim = Simulator(public_url=f"{base}/stripe-sim", api_keys={TEST_API_KEY})
        return Starlette(routes=[Mount("/stripe-sim", app=sim.app)])

    with serve_asgi(make_app) as base:
        sim = f"{base}/stripe-sim"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Bearer {TEST_API_KEY}",
        }
        for path in ("/v1/checkout/sessions", "/pay/cs_test_unknown", "/_sim/config"):
            declared = httpx.post(sim + path, content=huge, headers=headers)
            streamed = httpx.post(sim + path, content=_chunks(huge), headers=headers)
            assert "content-length" not in streamed.request.headers
            for answer in (declared, streamed):
                assert answer.status_code == 413, (path, answer.text)
                assert answer.json() == {
                    "error": {"message": "Request body too large.", "type": "invalid_request_error"}
                }
                assert answer.headers["request-id"].startswith("req_")
        # Under the cap everything still works: the cap refuses bodies, not requests.
        small = httpx.post(f"{sim}/v1/checkout/sessions", content=b"mode=payment", headers=headers)
        assert small.status_code == 400 and small.json()["error"]["param"] == "line_items"
