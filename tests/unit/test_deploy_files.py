"""deploy/: the demo simulator unit runs ONE locked-down simulator, and csp.py hashes inline scripts as
browsers do. (The nginx site and the backend unit are run for real by tests/e2e/test_deployment.py.)"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import shlex
from pathlib import Path

from rxshop.stripe_sim.__main__ import parse_args

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _exec_start(unit: str, **env: str) -> list[str]:
    """ExecStart of a unit, with systemd's line continuations joined and ${VARS} filled in as systemd does."""
    text = (DEPLOY / unit).read_text().replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    for name, value in env.items():
        line = line.replace("${" + name + "}", value)
    assert "${" not in line, line
    return shlex.split(line.split("=", 1)[1])


def test_the_demo_simulator_accepts_only_the_shops_key_and_sends_buyers_only_to_the_shop():
    argv = _exec_start(
        "rxshop-simulator.service",
        APP_URL="https://shop.example.com",
        STRIPE_SECRET_KEY="sk_test_demo_0123",
        STRIPE_WEBHOOK_SECRET="whsec_demo",
    )
    assert argv[:3] == ["/srv/rxshop/venv/bin/python", "-m", "rxshop.stripe_sim"]
    args = parse_args(argv[3:])
    assert args.api_key == ["sk_test_demo_0123"] and args.redirect_origin == ["https://shop.example.com"]
    assert args.no_control_api and args.host == "127.0.0.1"
    assert args.public_url == "https://shop.example.com/stripe-sim"  # its pay page, through nginx
    assert args.webhook_secret == "whsec_demo"


def test_the_backend_unit_trusts_exactly_nginx():
    unit = (DEPLOY / "rxshop-backend.service").read_text()
    assert "Environment=TRUSTED_PROXY_HOPS=1" in unit.splitlines()
    assert "Environment=REFLEX_ENV_MODE=prod" in unit.splitlines()


def _csp_module():
    spec = importlib.util.spec_from_file_location("deploy_csp", DEPLOY / "csp.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_csp_hashes_each_inline_script_exactly_and_skips_external_ones():
    inline = 'window.__ctx = {"a":"<b>&amp;"};\n'
    html = f'<html><head><script src="/assets/x.js"></script><script>{inline}</script></head></html>'
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert _csp_module().inline_script_hashes(html) == [f"'sha256-{digest}'"]


def test_csp_policy_names_every_directive_the_issue_asks_for():
    policy = _csp_module().policy(["'sha256-abc='"], ["wss://shop.example.com"])
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"].startswith("'self' 'sha256-abc='")
    assert directives["connect-src"] == "'self' wss://shop.example.com"
    assert directives["form-action"] == "'self' https://checkout.stripe.com"
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert (directives["frame-ancestors"], directives["base-uri"]) == ("'none'", "'self'")
