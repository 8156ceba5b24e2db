"""Settings: defaults run offline on the simulator; every bad value is named with what to do."""

import pytest

from rxshop.settings import SIMULATOR_MOUNT, SettingsError, parse_settings, read_environment


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


def test_live_key_is_refused_unless_explicitly_allowed():
    with pytest.raises(SettingsError, match="live key"):
        parse_settings({"STRIPE_SECRET_KEY": "sk_live_abc"})
    assert (
        parse_settings({"STRIPE_SECRET_KEY": "sk_live_abc", "ALLOW_LIVE_KEYS": "true"}).stripe_secret_key
        == "sk_live_abc"
    )


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
