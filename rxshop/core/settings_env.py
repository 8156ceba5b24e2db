"""What the environment says, typed and checked: pydantic-settings reads each variable into a field.

Each field is named for its variable (STRIPE_SECRET_KEY -> stripe_secret_key) and carries the one sentence
that tells the person fixing their `.env` what to do. `read_env` turns pydantic's ValidationError into one
SettingsError listing every problem, so pydantic's own wording never reaches them. The production policy
(settings_policy) is ShopEnv's model validator; when some value is refused, `read_env` still runs it on the
rest, so one refused start names everything to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field, ValidationError, model_validator
from pydantic.types import StringConstraints
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from rxshop.core.mail_settings import MailMode, checked_address, parse_smtp_url
from rxshop.core.settings_policy import policy_problems

PaymentsMode = Literal["stripe", "simulator"]
PAYMENTS_MODES: tuple[str, ...] = get_args(PaymentsMode)
# In a hidden folder: `reflex run` reloads the backend when a file beside the app changes, and SQLite's
# -wal/-shm files change on every write (Reflex ignores *.db and hidden folders, not *.db-wal).
DEFAULT_DATABASE_URL = "sqlite:///.data/rxshop.db"
DEFAULT_APP_URL = "http://localhost:3000"
DEFAULT_BACKEND_URL = "http://localhost:8000"
DEFAULT_COUNTRIES = ("US", "CA", "GB", "DE", "FR", "NL")  # where Checkout ships (SHIPPING_COUNTRIES)


class SettingsError(ValueError):
    """One or more settings are wrong; the message lists each with what to do."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))

    def one_line(self) -> str:
        """What a refused start prints: one line naming each setting to fix."""
        return "rxshop cannot start: " + " ".join(self.problems)


@dataclass(frozen=True)
class Problem:
    """A field's refusal, for the person fixing `.env`; {value!r} is what they set."""

    text: str


def _truthy(value: object) -> bool:
    """Flags read 1/true/yes/on as on and anything else as off (never an error)."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _whole_number(value: object) -> object:
    """Digits only: pydantic alone would take "+3" or "3.0"."""
    if isinstance(value, str) and not value.isdigit():
        raise ValueError("not a whole number")
    return value


def _absolute_url(value: str) -> str:
    value = value.rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("absolute_url", "not an absolute http(s) URL", {"value": value})
    return value


def _psycopg_driver(url: str) -> str:
    """SQLAlchemy's default PostgreSQL driver is psycopg2, which we don't ship; psycopg 3 is pinned."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _country_list(value: object) -> object:
    return tuple(c.strip().upper() for c in value.split(",")) if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


Flag = Annotated[bool, BeforeValidator(_truthy)]
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
HttpUrl = Annotated[str, AfterValidator(_absolute_url)]
CountryCode = Annotated[str, StringConstraints(pattern="^[A-Z]{2}$")]
StripeKey = Annotated[str, StringConstraints(pattern="^(sk|rk)_(test|live)_")]
PublishableKey = Annotated[str, StringConstraints(pattern="^pk_(test|live)_")]
WebhookSecret = Annotated[str, StringConstraints(pattern="^whsec_")]
DatabaseUrl = Annotated[str, StringConstraints(pattern="^(sqlite:|postgresql:|postgresql\\+)")]
RedisUrl = Annotated[str, StringConstraints(pattern="^(redis|rediss|unix)://")]


def _smtp_url(value: str) -> str:
    parse_smtp_url(value)  # MailSettingError (a ValueError) when it cannot be used
    return value


SmtpUrl = Annotated[str, AfterValidator(_smtp_url)]
MailAddress = Annotated[str, AfterValidator(checked_address)]

_URL_PROBLEM = "{name} must be an absolute http(s) URL such as http://localhost:3000, got {value!r}."


class ShopValues(BaseSettings):
    """The shop's environment variables, each checked on its own; `production` and the payment routing
    derive from them. ShopEnv adds the checks of how they fit together."""

    model_config = SettingsConfigDict(
        alias_generator=str.upper,  # each field reads the variable of its own name, upper-case
        case_sensitive=True,
        frozen=True,
        extra="ignore",
        validate_default=False,  # the defaults below are ours, not a value someone set
    )

    stripe_secret_key: Annotated[
        StripeKey | None,
        Problem("STRIPE_SECRET_KEY must start with sk_test_ (or sk_live_ with ALLOW_LIVE_KEYS=true)."),
    ] = None
    stripe_publishable_key: Annotated[
        PublishableKey | None,
        Field(validation_alias=AliasChoices("STRIPE_PUBLISHABLE_KEY", "STRIPE_PUBLIC_KEY")),
        Problem("STRIPE_PUBLISHABLE_KEY must start with pk_test_ or pk_live_."),
    ] = None
    stripe_webhook_secret: Annotated[
        WebhookSecret | None,
        Problem("STRIPE_WEBHOOK_SECRET must start with whsec_ (Stripe shows it for each webhook endpoint)."),
    ] = None
    stripe_api_base: Annotated[HttpUrl | None, Problem(_URL_PROBLEM)] = None  # None: Stripe's own API
    app_url: Annotated[HttpUrl, Problem(_URL_PROBLEM)] = DEFAULT_APP_URL
    backend_url: Annotated[HttpUrl, Problem(_URL_PROBLEM)] = DEFAULT_BACKEND_URL
    database_url: Annotated[
        DatabaseUrl,
        AfterValidator(_psycopg_driver),
        Problem("DATABASE_URL must be sqlite:///file.db or postgresql+psycopg://user@host/db."),
    ] = DEFAULT_DATABASE_URL
    redis_url: Annotated[
        RedisUrl | None,
        Problem("REDIS_URL must look like redis://127.0.0.1:6379/0."),
    ] = None
    payments_mode: Annotated[
        PaymentsMode | None,
        BeforeValidator(_lower),
        Problem("PAYMENTS_MODE must be stripe or simulator, got {value!r}."),
    ] = None  # None: stripe with a key, the simulator without one (refused in production)
    secret_key: Annotated[
        str | None,
        Field(min_length=32),
        Problem(
            "SECRET_KEY must be at least 32 characters (python -c 'import secrets; print(secrets.token_hex(32))')."
        ),
    ] = None
    trusted_proxy_hops: Annotated[
        WholeNumber,
        Field(ge=0, le=5),
        Problem("TRUSTED_PROXY_HOPS must be a whole number from 0 to 5 (nginx in front: 1), got {value!r}."),
    ] = 0
    shipping_countries: Annotated[
        tuple[CountryCode, ...],
        NoDecode,  # a comma-separated list, not JSON
        BeforeValidator(_country_list),
        AfterValidator(lambda codes: tuple(dict.fromkeys(codes))),
        Problem("SHIPPING_COUNTRIES must be two-letter country codes separated by commas, such as US,CA,GB."),
    ] = DEFAULT_COUNTRIES
    ship_within_days: Annotated[
        WholeNumber,
        Field(ge=1, le=60),
        Problem("SHIP_WITHIN_DAYS must be a whole number of days from 1 to 60, got {value!r}."),
    ] = 3
    admin_password: Annotated[
        str | None,
        Field(min_length=12),
        Problem("ADMIN_PASSWORD must be at least 12 characters (or empty to turn the dashboard off)."),
    ] = None
    smtp_url: Annotated[
        SmtpUrl | None,
        Problem(
            "SMTP_URL must look like smtp://user:password@mail.example.com:587 (STARTTLS) or "
            "smtps://user:password@mail.example.com:465 (TLS)."
        ),
    ] = None
    mail_mode: Annotated[
        MailMode | None,
        BeforeValidator(_lower),
        Problem("MAIL_MODE must be smtp, mailbox or off, got {value!r}."),
    ] = None  # None: smtp with SMTP_URL, the built-in mailbox without it (refused in production)
    mail_from: Annotated[
        MailAddress | None,
        Problem("MAIL_FROM must be an address such as orders@example.com or 'rxshop <orders@example.com>'."),
    ] = None
    owner_email: Annotated[
        MailAddress | None, Problem("OWNER_EMAIL must be an email address such as you@example.com.")
    ] = None
    support_email: Annotated[
        MailAddress | None, Problem("SUPPORT_EMAIL must be an email address such as help@example.com.")
    ] = None
    allow_live_keys: Flag = False
    simulator_control_api: Flag = False
    reflex_env_mode: Annotated[str, BeforeValidator(_lower)] = ""  # "prod": `reflex run --env prod`, granian
    rxshop_export_only: Flag = False  # `make export`: builds pages in production mode, serves nothing

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what `read_env` passes in: never os.environ behind the caller's back (tests pass a dict)."""
        return (init_settings,)

    @property
    def production(self) -> bool:
        """Fail closed. `make export` runs in production mode but serves nothing, so its checks wait."""
        return self.reflex_env_mode == "prod" and not self.rxshop_export_only

    @property
    def live(self) -> bool:
        key = self.stripe_secret_key
        return key is not None and key.startswith(("sk_live_", "rk_live_"))

    @property
    def simulated(self) -> bool:
        """Payments go to a simulator: no key (the built-in one) or STRIPE_API_BASE (a standalone one)."""
        return self.stripe_secret_key is None or self.stripe_api_base is not None

    @property
    def mount_simulator(self) -> bool:
        """No key and no STRIPE_API_BASE: the backend serves the simulator itself."""
        return self.stripe_secret_key is None and self.stripe_api_base is None


class ShopEnv(ShopValues):
    """Checked values that also pass the production policy: what Settings are made from."""

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        """The production policy: refuse every combination that could take or lose real money by mistake."""
        problems = policy_problems(self)
        if problems:
            raise SettingsError(problems)
        return self


class _GivenEnvironment(EnvSettingsSource):
    """pydantic-settings' environment reading (names, aliases), over a given mapping instead of os.environ."""

    def __init__(self, env: Mapping[str, str]):
        # Blank means unset, as `.env.example` ships every line (STRIPE_SECRET_KEY=, even "   ").
        self._given = {name: value.strip() for name, value in env.items() if value and value.strip()}
        super().__init__(ShopValues, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._given


def read_env(env: Mapping[str, str]) -> ShopEnv:
    """The environment `env` as checked fields; SettingsError lists every problem at once."""
    given = _GivenEnvironment(env)()  # by variable name (STRIPE_PUBLIC_KEY under STRIPE_PUBLISHABLE_KEY)
    try:
        return ShopEnv(**given)
    except ValidationError as err:
        raise SettingsError(_problems(err, given)) from None


def _problems(err: ValidationError, given: dict[str, Any]) -> list[str]:
    """pydantic's errors in our words: each refused value's Problem, then the policy's refusals.

    Every problem at once, as before pydantic: when a value is refused the model validator never ran, so
    the policy runs here on the other values with each refused one as given (a misspelled key still
    counts as a key: it never means "simulate").
    """
    problems: list[str] = []
    refused: dict[str, Any] = {}
    for error in err.errors():
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, SettingsError):  # only the policy left: every value was accepted
            return cause.problems
        name = str(error["loc"][0])
        refused[_FIELDS[name]] = given[name]
        text = _problem_of(_FIELDS[name])
        shown = error.get("ctx", {}).get("value", error["input"])  # a URL as read: without its trailing /
        problems.append(text.format(name=name, value=shown) if text else f"{name}: {error['msg']}.")
    accepted = ShopValues(**{name: value for name, value in given.items() if _FIELDS[name] not in refused})
    problems.extend(policy_problems(accepted.model_copy(update=refused)))
    return list(dict.fromkeys(problems))  # one line per setting (a country list fails once, not per code)


_FIELDS = {field.alias or name: name for name, field in ShopValues.model_fields.items()}  # variable -> field


def _problem_of(field: str) -> str | None:
    return next((m.text for m in ShopValues.model_fields[field].metadata if isinstance(m, Problem)), None)
