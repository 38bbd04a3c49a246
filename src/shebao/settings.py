"""Django settings for shebao, read from the environment.

Environment variables:
    DATABASE_URL        database (default: SQLite in WAL mode under the data directory)
    SHEBAO_DATA_DIR     data directory for the database, snapshots and exports (default ./var)
    SHEBAO_SECRET_KEY   secret key (required in production)
    SHEBAO_DEBUG        "1" to turn Django's debug mode on (refused in production)
    SHEBAO_ENV          "development" (default) or "production"
    SHEBAO_ALLOWED_HOSTS comma-separated host names (default: localhost names)
    SHEBAO_EXCHANGE_KEY SM4 key for the vendor and bank exchange files (required in production)
    SHEBAO_BEHIND_PROXY "1" when a TLS-terminating proxy sets X-Forwarded-Proto
    SHEBAO_SMS_BACKEND  "file" (default: DATA_DIR/sms/outbox.jsonl) or "console"
    SHEBAO_TRUSTED_PROXIES proxies whose X-Forwarded-For gives the client address
    SHEBAO_OIDC_RSA_PRIVATE_KEY RS256 key (PEM) signing OpenID Connect ID tokens (production)
    SHEBAO_OIDC_PAIRWISE_KEY key of the pairwise OIDC subject identifiers (default: derived)
    SHEBAO_DATA_KEYS    SM4 keys of the personal data at rest, kid:hex,…,index:hex (production;
                        development: DATA_DIR/keys/), see shebao.vault.keys and ADR 0017
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets `admin.ModelAdmin[Model]` and other stub generics work at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("SHEBAO_DATA_DIR", Path.cwd() / "var")).resolve()

ENVIRONMENT = os.environ.get("SHEBAO_ENV", "development").strip().lower()
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("SHEBAO_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = os.environ.get("SHEBAO_DEBUG", "0").strip().lower() in {"1", "true", "yes", "on"}

_DEV_KEY_FILE = DATA_DIR / ".dev-secret-key"


def _development_secret_key() -> str:
    """A per-installation random key, so development never runs on a published key."""
    try:
        return _DEV_KEY_FILE.read_text().strip()
    except FileNotFoundError:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        _DEV_KEY_FILE.write_text(key)
        _DEV_KEY_FILE.chmod(0o600)
        return key


SECRET_KEY = os.environ.get("SHEBAO_SECRET_KEY", "")
if PRODUCTION:
    if not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured(
            "生产环境必须设置 SHEBAO_SECRET_KEY（至少 40 个字符的随机值）"
            " / production requires SHEBAO_SECRET_KEY (40+ random characters)"
        )
    if DEBUG:
        raise ImproperlyConfigured(
            "生产环境不得开启 SHEBAO_DEBUG / production refuses to start with SHEBAO_DEBUG on"
        )
    _exchange_key = os.environ.get("SHEBAO_EXCHANGE_KEY", "").strip()
    if len(_exchange_key) != 32 or any(c not in "0123456789abcdefABCDEF" for c in _exchange_key):
        raise ImproperlyConfigured(
            "生产环境必须设置 SHEBAO_EXCHANGE_KEY（32 位十六进制字符的 SM4 密钥）"
            " / production requires SHEBAO_EXCHANGE_KEY (32 hexadecimal characters)"
        )
elif not SECRET_KEY:
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("SHEBAO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(
        ","
    )
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "ninja",
    # The TOTP second factor (before shebao.accounts, whose admin hides the device keys).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "shebao.geo",
    "shebao.accounts",
    "shebao.jobs",
    "shebao.sms",
    "shebao.registry",
    "shebao.intake",
    "shebao.registration",
    "shebao.cards",
    "oauth2_provider",
    "shebao.ecard",
    "shebao.partners",
    "shebao.sso",
    "shebao.usage",
    "shebao.payments",
    "shebao.reports",
    "shebao.citizen",
    "shebao.web",
    "shebao.demo",
    "shebao.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "shebao.accounts.middleware.RequestContextMiddleware",
    "shebao.accounts.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "shebao.urls"
WSGI_APPLICATION = "shebao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shebao.web.context_processors.navigation",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'shebao.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while a batch job writes; IMMEDIATE avoids
        # "database is locked" upgrades in the middle of a write transaction.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": None}
else:
    # dj_database_url sets CONN_MAX_AGE to 0 itself, so a default must overwrite it: without
    # persistent connections every request opened (and PostgreSQL forked) a new one.
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["shebao.accounts.backends.LockoutModelBackend"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "shebao.accounts.passwords.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "shebao.accounts.passwords.CharacterClassValidator"},
]
# Argon2id for new and changed passwords (memory-hard, as 等保 reviews expect); a PBKDF2 or
# scrypt hash from before is upgraded to Argon2 the next time its user signs in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# Lock a username for one client (IP address) for SHEBAO_LOCKOUT_MINUTES after this many
# failures in a row from that client; other clients can still log in with it.
SHEBAO_LOCKOUT_THRESHOLD = int(os.environ.get("SHEBAO_LOCKOUT_THRESHOLD", "5"))
SHEBAO_LOCKOUT_MINUTES = int(os.environ.get("SHEBAO_LOCKOUT_MINUTES", "15"))

# Text messages (one-time codes): "file" appends to DATA_DIR/sms/outbox.jsonl, "console"
# writes to standard error (see shebao.sms.backends).
SHEBAO_SMS_BACKEND = os.environ.get("SHEBAO_SMS_BACKEND", "file")
# Reverse proxies whose X-Forwarded-For is believed for the client address (comma-separated
# addresses or networks, e.g. "127.0.0.1,10.0.0.0/8"); none by default.
SHEBAO_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("SHEBAO_TRUSTED_PROXIES", "").split(",") if p.strip()
]

# The issuing programme (发卡项目) whose rules every application and the file check apply: a
# name of `cards.domain.programmes.PROGRAMMES` or a .toml file describing one.
SHEBAO_CARD_PROGRAMME = os.environ.get("SHEBAO_CARD_PROGRAMME", "").strip() or "default"

# OpenID Connect provider (shebao.sso, django-oauth-toolkit at /o/). ID tokens are signed
# RS256 with SHEBAO_OIDC_RSA_PRIVATE_KEY (PEM) in production; development generates a key once
# into DATA_DIR/.oidc-rsa.pem. PKCE is required of every client.
_DEV_OIDC_KEY_FILE = DATA_DIR / ".oidc-rsa.pem"


def _development_oidc_key() -> str:
    try:
        return _DEV_OIDC_KEY_FILE.read_text()
    except FileNotFoundError:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        pem = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
        _DEV_OIDC_KEY_FILE.write_text(pem)
        _DEV_OIDC_KEY_FILE.chmod(0o600)
        return pem


OIDC_RSA_PRIVATE_KEY = os.environ.get("SHEBAO_OIDC_RSA_PRIVATE_KEY", "").strip()
if PRODUCTION and "PRIVATE KEY" not in OIDC_RSA_PRIVATE_KEY:
    raise ImproperlyConfigured(
        "生产环境必须设置 SHEBAO_OIDC_RSA_PRIVATE_KEY（PEM 格式的 RSA 私钥）"
        " / production requires SHEBAO_OIDC_RSA_PRIVATE_KEY (an RSA private key in PEM)"
    )
if not OIDC_RSA_PRIVATE_KEY:
    OIDC_RSA_PRIVATE_KEY = _development_oidc_key()

# SM4 keys of the personal data sealed in the database (ADR 0017); development keeps them in
# DATA_DIR/keys/ (created on first use, left out of backups).
if PRODUCTION:
    from shebao.vault.cipher import VaultError
    from shebao.vault.keys import parse_env_keys

    try:
        parse_env_keys(os.environ.get("SHEBAO_DATA_KEYS", ""))
    except VaultError as exc:
        raise ImproperlyConfigured(
            f"生产环境必须正确设置 SHEBAO_DATA_KEYS：{exc.message}"
            " / production requires SHEBAO_DATA_KEYS (kid:32-hex,...,index:32-hex)"
        ) from None
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "PKCE_REQUIRED": True,
    "OAUTH2_VALIDATOR_CLASS": "shebao.sso.validators.ShebaoOAuth2Validator",
    "SCOPES": {
        "openid": "确认您的身份（每个网站得到不同的用户标识）",
        "profile": "姓名",
        "phone": "预留手机号码",
        "idcard": "公民身份号码",
        # Partner terminals' client-credentials scopes (shebao.partners) are added here.
    },
    "DEFAULT_SCOPES": ["openid"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "ID_TOKEN_EXPIRE_SECONDS": 600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 7 * 24 * 3600,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
    "REQUEST_APPROVAL_PROMPT": "force",
}
# Named so that migrations of apps referring to these models can depend on them.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
# The key of the pairwise subject identifiers (sub = HMAC(key, sector, person)); it must
# never change once partners hold subjects, so it is derived from the secret key unless set.
SHEBAO_OIDC_PAIRWISE_KEY = os.environ.get("SHEBAO_OIDC_PAIRWISE_KEY", "").strip()

# Idle sessions end after 30 minutes; every request renews the deadline.
SESSION_COOKIE_AGE = int(os.environ.get("SHEBAO_SESSION_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Production runs behind HTTPS only: redirect plain HTTP, and tell browsers for a year.
# Behind a TLS-terminating proxy set SHEBAO_BEHIND_PROXY=1 so X-Forwarded-Proto counts.
SECURE_SSL_REDIRECT = PRODUCTION
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
if os.environ.get("SHEBAO_BEHIND_PROXY", "0").strip().lower() in {"1", "true", "yes", "on"}:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# TOTP codes: a code is accepted one step (30 s) early or late and never twice; a clock
# that drifts is not silently followed (a code far off is simply wrong).
OTP_TOTP_SYNC = False
OTP_TOTP_ISSUER = "shebao"
# How long the step between a right password and the one-time code may take.
SHEBAO_SECOND_FACTOR_SECONDS = 300
# Scripts and styles only from our own static files: no inline code, no other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on a missing root
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "shebao.accounts.redaction.RedactPersonalDataFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("SHEBAO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
