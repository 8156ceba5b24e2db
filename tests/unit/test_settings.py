"""Settings: defaults run offline on the simulator; every bad value is named with what to do."""

import pytest

from rxshop.core.settings import SIMULATOR_MOUNT, SettingsError, parse_settings, read_environment


def test_no_keys_means_the_built_in_simulator_with_a_fresh_shared_secret():
    one, two = parse_settings({}), parse_settings({})
    assert one.simulated and one.mount_simulator
    assert one.stripe_api_base == "http://localhost:8000" + SIMULATOR_MOUNT
    assert one.stripe_secret_key.startswith("sk_test_")
    assert (
        one.stripe_webhook_secret.startswith("whsec_")
        and one.stripe_webhook_secret != two.stripe_webhook_secret
    )
    assert one.database_url == "sqlite:///.data/rxshop.db" and one.redis_url is None
    assert one.webhook_url == "http://localhost:8000/stripe/webhook"


def test_a_test_key_talks_to_stripe_itself():
    settings = parse_settings(
        {
            "STRIPE_SECRET_KEY": "sk_test_abc",
            "STRIPE_WEBHOOK_SECRET": "whsec_x",
            "STRIPE_PUBLIC_KEY": "pk_test_y",
        }
    )
    assert not settings.simulated and not settings.mount_simulator
    assert settings.stripe_api_base is None
    assert settings.stripe_secret_key == "sk_test_abc" and settings.stripe_publishable_key == "pk_test_y"
    assert settings.stripe_webhook_secret == "whsec_x"


def test_api_base_points_the_key_at_a_standalone_simulator():
    settings = parse_settings(
        {"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_API_BASE": "http://127.0.0.1:12111/"}
    )
    assert settings.simulated and not settings.mount_simulator
    assert settings.stripe_api_base == "http://127.0.0.1:12111"


LIVE = {
    "STRIPE_SECRET_KEY": "sk_live_abc",
    "ALLOW_LIVE_KEYS": "true",
    "STRIPE_WEBHOOK_SECRET": "whsec_live",
    "APP_URL": "https://shop.example",
    "BACKEND_URL": "https://api.shop.example",
}


def test_live_key_is_refused_unless_explicitly_allowed():
    with pytest.raises(SettingsError, match="live key"):
        parse_settings({**LIVE, "ALLOW_LIVE_KEYS": "false"})
    settings = parse_settings(LIVE)
    assert (
        settings.stripe_secret_key == "sk_live_abc"
        and settings.livemode
        and settings.payments_mode == "stripe"
    )
    assert (
        settings.secure_cookies and settings.describe_payments() == "Payments: Stripe LIVE mode (real money)."
    )


@pytest.mark.parametrize(
    "change, named",
    [
        ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET is required"),
        ({"APP_URL": "http://shop.example"}, "APP_URL must be https://"),
        ({"BACKEND_URL": "http://api.shop.example"}, "BACKEND_URL must be https://"),
        ({"STRIPE_API_BASE": "https://sim.example"}, "STRIPE_API_BASE cannot be used with a live key"),
    ],
)
def test_a_live_key_needs_https_a_webhook_secret_and_stripe_itself(change, named):
    with pytest.raises(SettingsError, match=named):
        parse_settings({**LIVE, **change})


PROD = {
    "REFLEX_ENV_MODE": "prod",
    "SECRET_KEY": "k" * 40,
    "MAIL_MODE": "off",
}  # email: tests/unit/test_mail.py


@pytest.mark.parametrize("key", [None, "", "   "])
def test_production_without_a_key_refuses_to_start_with_one_line(key):
    """Fail closed: a missing or empty STRIPE_SECRET_KEY (as .env.example ships it) never means "simulate"."""
    env = dict(PROD) | ({"STRIPE_SECRET_KEY": key} if key is not None else {})
    with pytest.raises(SettingsError) as err:
        parse_settings(env)
    line = err.value.one_line()
    assert "\n" not in line and line.startswith("rxshop cannot start:")
    assert "STRIPE_SECRET_KEY" in line and "PAYMENTS_MODE" in line


def test_a_misspelled_key_is_refused_not_simulated():
    with pytest.raises(SettingsError, match="STRIPE_SECRET_KEY must start with sk_test_"):
        parse_settings({**PROD, "STRIPE_SECRET_KEY": "sk_tset_abc"})


def test_production_simulates_only_when_asked():
    demo = parse_settings({**PROD, "PAYMENTS_MODE": "simulator"})
    assert demo.production and demo.simulated and demo.mount_simulator and demo.payments_mode == "simulator"
    assert "SIMULATED" in demo.describe_payments()
    standalone = parse_settings(
        {
            **PROD,
            "PAYMENTS_MODE": "simulator",
            "STRIPE_SECRET_KEY": "sk_test_x",
            "STRIPE_API_BASE": "http://sim:1",
        }
    )
    assert standalone.simulated and not standalone.mount_simulator
    real = parse_settings({**PROD, "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"})
    assert real.payments_mode == "stripe" and not real.simulated and "test mode" in real.describe_payments()


@pytest.mark.parametrize(
    "env, named",
    [
        ({"PAYMENTS_MODE": "stripe"}, "PAYMENTS_MODE=stripe needs STRIPE_SECRET_KEY"),
        ({"PAYMENTS_MODE": "strip"}, "PAYMENTS_MODE must be stripe or simulator"),
        (
            {"PAYMENTS_MODE": "simulator", "STRIPE_SECRET_KEY": "sk_test_x"},
            "PAYMENTS_MODE=simulator with a Stripe key",
        ),
        (
            {"PAYMENTS_MODE": "stripe", "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_API_BASE": "http://sim:1"},
            "remove STRIPE_API_BASE",
        ),
    ],
)
def test_payments_mode_must_agree_with_the_keys(env, named):
    with pytest.raises(SettingsError, match=named):
        parse_settings(env)


def test_production_needs_a_long_secret_key():
    with pytest.raises(SettingsError, match="SECRET_KEY is not set in production"):
        parse_settings({"REFLEX_ENV_MODE": "prod", "PAYMENTS_MODE": "simulator"})
    with pytest.raises(SettingsError, match="at least 32 characters"):
        parse_settings({"SECRET_KEY": "short"})


def test_several_workers_never_mount_one_simulator_each():
    with pytest.raises(SettingsError, match="standalone simulator"):
        parse_settings({**PROD, "PAYMENTS_MODE": "simulator", "REDIS_URL": "redis://127.0.0.1:6379/0"})


def test_the_mounted_simulator_key_is_made_per_process():
    one, two = parse_settings({}), parse_settings({})
    assert one.stripe_secret_key.startswith("sk_test_") and one.stripe_secret_key != two.stripe_secret_key


def test_cors_and_cookie_origins_are_the_shops_own():
    settings = parse_settings({"APP_URL": "http://127.0.0.1:3000/", "BACKEND_URL": "http://127.0.0.1:8000"})
    assert settings.allowed_origins == ("http://127.0.0.1:3000", "http://127.0.0.1:8000")
    assert not settings.secure_cookies


def test_every_bad_value_is_listed_at_once():
    with pytest.raises(SettingsError) as err:
        parse_settings(
            {
                "STRIPE_SECRET_KEY": "nope",
                "STRIPE_PUBLISHABLE_KEY": "x",
                "STRIPE_WEBHOOK_SECRET": "y",
                "APP_URL": "localhost:3000",
                "BACKEND_URL": "ftp://x",
                "DATABASE_URL": "mysql://x",
                "REDIS_URL": "localhost",
                "TRUSTED_PROXY_HOPS": "one",
            }
        )
    text = str(err.value)
    for name in (
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "APP_URL",
        "BACKEND_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "TRUSTED_PROXY_HOPS",
    ):
        assert name in text


def test_plain_postgres_urls_use_the_pinned_psycopg_driver():
    settings = parse_settings({"DATABASE_URL": "postgresql://u@h:5432/db"})
    assert settings.database_url == "postgresql+psycopg://u@h:5432/db"


def test_dotenv_file_is_read_but_the_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("APP_URL=http://shop.example\nBACKEND_URL=http://api.example\n")
    monkeypatch.setenv("BACKEND_URL", "http://override.example")
    values = read_environment(str(env_file))
    assert values["APP_URL"] == "http://shop.example"
    assert values["BACKEND_URL"] == "http://override.example"


def test_tests_read_no_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("STRIPE_SECRET_KEY=sk_test_from_a_developer\n")
    assert "STRIPE_SECRET_KEY" not in read_environment()  # RXSHOP_ENV_FILE="" (tests/conftest.py)


def test_the_simulator_control_api_is_off_unless_asked_for():
    assert parse_settings({}).simulator_control_api is False
    assert parse_settings({"SIMULATOR_CONTROL_API": "true"}).simulator_control_api is True


def test_a_simulator_base_in_production_needs_payments_mode():
    with pytest.raises(SettingsError, match="STRIPE_API_BASE sends payments to a simulator"):
        parse_settings({**PROD, "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_API_BASE": "http://sim:1"})


def test_the_export_build_serves_nothing_so_it_needs_no_serving_settings():
    """`make export` compiles the pages in production mode; the backend's start checks the rest."""
    built = parse_settings({"REFLEX_ENV_MODE": "prod", "RXSHOP_EXPORT_ONLY": "true"})
    assert not built.production


def test_shipping_and_dashboard_settings_are_validated():
    default = parse_settings({})
    assert default.shipping_countries == ("US", "CA", "GB", "DE", "FR", "NL")
    assert (default.ship_within_days, default.admin_enabled) == (3, False)
    custom = parse_settings(
        {"SHIPPING_COUNTRIES": " us, gb,US", "SHIP_WITHIN_DAYS": "5", "ADMIN_PASSWORD": "x" * 12}
    )
    assert (custom.shipping_countries, custom.ship_within_days, custom.admin_enabled) == (
        ("US", "GB"),
        5,
        True,
    )
    with pytest.raises(SettingsError) as refused:
        parse_settings({"SHIPPING_COUNTRIES": "USA", "SHIP_WITHIN_DAYS": "0", "ADMIN_PASSWORD": "short"})
    assert [p.split(" ")[0] for p in refused.value.problems] == [
        "SHIPPING_COUNTRIES",
        "SHIP_WITHIN_DAYS",
        "ADMIN_PASSWORD",
    ]


def test_a_refused_value_does_not_hide_what_the_policy_refuses():
    """One refused start names everything to fix, values and policy alike (pydantic would stop at the values)."""
    with pytest.raises(SettingsError) as err:
        parse_settings({"REFLEX_ENV_MODE": "prod", "DATABASE_URL": "mysql://x", "SHIP_WITHIN_DAYS": "soon"})
    assert [p.split(" ")[0] for p in err.value.problems] == [
        "DATABASE_URL",
        "SHIP_WITHIN_DAYS",
        "STRIPE_SECRET_KEY",
        "SECRET_KEY",
        "SMTP_URL",
    ]
    with pytest.raises(SettingsError) as misspelled:  # a refused key still counts as a key, never "simulate"
        parse_settings({**PROD, "STRIPE_SECRET_KEY": "sk_tset_abc", "PAYMENTS_MODE": "simulator"})
    assert "PAYMENTS_MODE=simulator with a Stripe key" in str(misspelled.value)


def test_values_are_refused_in_our_words_not_pydantics():
    with pytest.raises(SettingsError) as err:
        parse_settings(
            {
                "TRUSTED_PROXY_HOPS": "+3",  # digits only, as before
                "SHIP_WITHIN_DAYS": "3.0",
                "STRIPE_PUBLIC_KEY": "pk_nope",  # the older name, refused under the current one
                "APP_URL": "ftp://shop.example/",
                "PAYMENTS_MODE": "Strip",
            }
        )
    assert err.value.problems == [
        "STRIPE_PUBLISHABLE_KEY must start with pk_test_ or pk_live_.",
        "APP_URL must be an absolute http(s) URL such as http://localhost:3000, got 'ftp://shop.example'.",
        "PAYMENTS_MODE must be stripe or simulator, got 'strip'.",
        "TRUSTED_PROXY_HOPS must be a whole number from 0 to 5 (nginx in front: 1), got '+3'.",
        "SHIP_WITHIN_DAYS must be a whole number of days from 1 to 60, got '3.0'.",
    ]
    assert (
        parse_settings({"ALLOW_LIVE_KEYS": "maybe", "PAYMENTS_MODE": " Simulator "}).payments_mode
        == "simulator"
    )


def test_a_simulator_address_without_a_key_is_refused_not_a_crash():
    with pytest.raises(SettingsError, match="STRIPE_API_BASE needs STRIPE_SECRET_KEY"):
        parse_settings({"PAYMENTS_MODE": "simulator", "STRIPE_API_BASE": "http://127.0.0.1:12111"})
    with pytest.raises(SettingsError, match="STRIPE_API_BASE needs STRIPE_SECRET_KEY"):
        parse_settings({"STRIPE_API_BASE": "http://127.0.0.1:12111"})


def test_parse_settings_reads_only_the_mapping_it_is_given(monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_from_the_process")
    monkeypatch.setenv("SHIP_WITHIN_DAYS", "9")
    settings = parse_settings({})
    assert settings.mount_simulator and settings.ship_within_days == 3
