"""Settings: one environment variable each, with a typed parse and a default that serves the embedded setup.

`load_settings()` reads the environment once, in `create_app`; nothing here runs at import time.
A production start without its secrets fails here, not at the first request.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start-up."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _number(name: str, default, cast):
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        kind = "an integer" if cast is int else "a number"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from exc


def _int(name: str, default: int) -> int:
    return _number(name, default, int)


def _float(name: str, default: float) -> float:
    return _number(name, default, float)


def _date(name: str) -> date | None:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD), got {raw!r}") from exc


@dataclass
class Settings:
    # development | testing | production. Production (the default, so a forgotten variable fails safe)
    # requires SECRET_KEY and DATA_KEY and refuses the WeChat sandbox.
    app_env: str = "production"
    # Signs tokens. Required outside development/testing.
    secret_key: str = ""
    # Fernet key (urlsafe base64, 32 bytes) for personal data at rest (ID-card numbers).
    # Outside production it is derived from SECRET_KEY so the demo needs no setup.
    data_key: str = ""
    # SQLAlchemy URL. Default: SQLite under instance/. Production: mysql+pymysql://user:pw@host/db
    # (charset=utf8mb4 is added when missing).
    database_url: str = ""
    # Redis for RQ jobs, rate limits and shared caches. Unset: jobs run in-process at once.
    redis_url: str | None = None
    # Object storage: "local" (files under STORAGE_DIR, the default) or "qiniu" (needs the QINIU_* keys, bucket
    # and domain below; in production they must be set).
    storage: str = "local"
    storage_dir: str = ""
    # The local Qiniu stand-in at /_sandbox/qiniu/. Default: on in development and testing; production refuses it.
    qiniu_sandbox: bool | None = None
    # Qiniu access and secret key, bucket and the bucket's download domain (with scheme, e.g.
    # https://files.example.cn). With the sandbox on, sandbox values are filled in.
    qiniu_access_key: str = ""
    qiniu_secret_key: str = ""
    qiniu_bucket: str = ""
    qiniu_domain: str = ""
    # Upload and management hosts of the bucket's region (default: East China, z0), or the sandbox's
    # (http://127.0.0.1:5000/_sandbox/qiniu) when the sandbox is on.
    qiniu_up_host: str = ""
    qiniu_rs_host: str = ""
    # The public URL Qiniu calls back after a direct upload; callbacks are verified against it. Unset: no
    # direct uploads with callbacks.
    qiniu_callback_url: str = ""
    # Seconds to wait for any one Qiniu call (connect or read) before giving up as a transient failure.
    qiniu_timeout: float = 10.0
    # Time zone of business dates (duty days, meeting periods). Timestamps are stored in UTC.
    tz: str = "Asia/Shanghai"
    # Lifetime of access tokens (minutes) and refresh tokens (days).
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    # Failed logins per username before it is locked, and for how long.
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    # Flask-Limiter rule for the login endpoint, per client address.
    login_rate_limit: str = "30 per minute"
    # Days an imported account's one-time initial password stays valid.
    initial_password_days: int = 30
    # Upper bound of `per_page` on every list endpoint.
    page_size_max: int = 100
    # Largest roster file accepted over HTTP (bytes); the CLI has no limit.
    max_upload_bytes: int = 20 * 1024 * 1024
    # The local WeChat stand-in at /_sandbox/wechat/. Default: on in development and testing; production refuses it.
    wechat_sandbox: bool | None = None
    # Where WeChat's API is reached, token URL included. Default: https://api.weixin.qq.com, or the sandbox of the
    # local demo server (http://127.0.0.1:5000/_sandbox/wechat) when the sandbox is on.
    wechat_api_base: str = ""
    # The mini-program's AppID and AppSecret (required in production); the official account's, for template
    # messages and the bot. With the sandbox on, sandbox values are filled in.
    wechat_mini_appid: str = ""
    wechat_mini_secret: str = ""
    wechat_oa_appid: str = ""
    wechat_oa_secret: str = ""
    # Seconds to wait for any one WeChat call (the token fetch included) before giving up as a transient failure.
    wechat_timeout: float = 5.0
    # The official-account bot at /wechat/callback (blueprints/wechat_callback.py), configured in the account's
    # "服务器配置": the Token, the EncodingAESKey (43 characters) and the message mode, "plain" (明文) or "safe"
    # (安全模式, AES; needs the key). Default mode: safe when a key is set, else plain. Without a token the
    # callback answers 404. With the sandbox on, a sandbox token and key are filled in.
    wechat_oa_token: str = ""
    wechat_oa_aes_key: str = ""
    wechat_oa_message_mode: str = ""
    # A callback whose timestamp is further than this (seconds) from the server's clock is refused (403).
    wechat_oa_timestamp_window_s: int = 300
    # Minutes a bind code from the mini-program ("绑定 123456" to the account) stays valid.
    wechat_oa_bind_code_minutes: int = 10
    # A location message is a point picked on a map, not a measured fix: the accuracy (metres) its check-in is
    # judged with. The default (above DUTY_MAX_ACCURACY_M) keeps such check-ins "uncertain"; lower it to trust them.
    wechat_oa_location_accuracy_m: float = 500.0
    # Coordinate system of the LOCATION event (the position WeChat reports on entering the chat): wgs84 or gcj02.
    # Location messages are always gcj02 (Tencent Maps).
    wechat_oa_event_coord_sys: str = "wgs84"
    # LOCATION events arrive on every visit to the chat: one becomes a check-in only this many minutes after the
    # cadre's previous check-in at the village.
    wechat_oa_location_event_gap_minutes: int = 60
    # A meeting recorded more than this many days after its start is marked as a late entry.
    meeting_late_entry_days: int = 7
    # Members sign in to a meeting from this many minutes before its start to this many after its end; photos taken
    # within the same margin count as inside the meeting's time window.
    meeting_window_minutes: int = 30
    # A photo arriving more than this many minutes after it was taken is marked late_upload (taken offline).
    photo_late_upload_minutes: int = 120
    # A position reported with an accuracy worse than this (metres) cannot prove presence: "uncertain".
    position_max_accuracy_m: float = 100.0
    # Duty check-in (services/duty_checkins.py). A fix worse than this many metres cannot prove presence: uncertain.
    duty_max_accuracy_m: float = 100.0
    # A check-in arriving more than this many minutes after its position was read is flagged late_upload.
    duty_late_upload_minutes: int = 30
    # Refused (422 read_at): a reading time more than this many days old, which no offline queue keeps.
    duty_max_backdate_days: int = 31
    # A check-in later than the shift's start plus this is late; a check-out earlier than its end minus this is early.
    duty_late_grace_minutes: int = 10
    duty_early_grace_minutes: int = 10
    # A check-in more than this many minutes before the shift's start is early (too early to count for it).
    duty_early_checkin_minutes: int = 120
    # Travel faster than this (km/h) between consecutive check-ins of a cadre is flagged impossible_speed.
    duty_max_speed_kmh: float = 200.0
    # Positions on different days closer than this (metres) are identical: flagged repeated_position.
    duty_repeat_position_m: float = 1.0
    # This many consecutive check-ins with exactly the same accuracy value are flagged constant_accuracy.
    duty_constant_accuracy_count: int = 5
    # Minutes a cadre has to answer a department's request for an instant photo check-in (default when not given).
    duty_photo_check_minutes: int = 30
    # Learning: a lesson is complete once this share of its duration is credited.
    learning_complete_share: float = 0.9
    # Learning heartbeats: one arriving sooner than this after the last accepted one earns nothing (a burst); at most
    # this many seconds are credited for one (a longer silence, e.g. a sleeping phone, is not study time).
    learning_beat_min_gap_s: int = 10
    learning_beat_max_gap_s: int = 90
    # With Redis, credited study time waits this many seconds in Redis before a job writes it to the database.
    learning_flush_seconds: int = 30
    # Notifications (services/notify_delivery.py). Subscribe-message template id of the mini-program and template id
    # of the official account used for every notification (fields thing1 事项, time2 时间, thing3 组织, thing4 说明);
    # empty disables the channel. With the WeChat sandbox on, sandbox ids are filled in.
    notify_subscribe_template: str = ""
    notify_oa_template: str = ""
    # A send job's claim on a notification older than this (seconds) may be taken over by another run; it must exceed
    # the send job's timeout (60 s) so the first run is surely dead, and stay under WeChat's 10-minute window for
    # template messages' client_msg_id, so a takeover's resend is deduplicated by WeChat.
    notify_claim_lease_s: int = 180
    # SMS provider: "sandbox" (the local /_sandbox/sms/, Aliyun's protocol; refused in production), "aliyun" or "none".
    # Default: sandbox in development and testing, none in production.
    sms_provider: str = ""
    # Where the provider's API is reached (default: Aliyun's endpoint, or the local sandbox), its key pair, the
    # signature name and the template code (one parameter: ${content}).
    sms_api_base: str = ""
    sms_access_key_id: str = ""
    sms_access_key_secret: str = ""
    sms_sign_name: str = ""
    sms_template_code: str = ""
    # At most this many SMS per member and local day; the cost of one SMS in fen (counted per member and day).
    sms_daily_limit: int = 3
    sms_cost_fen: int = 5
    # Seconds to wait for one SMS call before giving up as a transient failure.
    sms_timeout: float = 5.0
    # Reminders (services/reminder_scan.py): minutes between two compliance scans (the scheduler's slot), and the
    # local hour from which a scan posts the department admins' daily digest.
    reminder_scan_minutes: int = 15
    reminder_digest_hour: int = 8
    # Run the scan on a timer thread inside the web process (from its first request). Default: on in development
    # without REDIS_URL (the embedded demo); elsewhere `flask --app app reminders schedule` drives it.
    reminder_scan_in_process: bool | None = None
    # The first day whose meetings the city records on the platform (its go-live): meeting periods that ended
    # before it are not judged, so the first scan does not alert every branch and department about periods the
    # platform holds no records of. Unset: every period the scan looks at is judged.
    reminders_since: date | None = None
    extra: dict = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"


def normalise_database_url(url: str) -> str:
    """Force utf8mb4 on MySQL/MariaDB URLs: the default utf8 (3-byte) loses rare characters in Chinese names."""
    if url.startswith("mysql") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def load_settings(instance_path: str, overrides: dict | None = None) -> Settings:
    env = os.environ
    app_env = env.get("APP_ENV") or ("development" if _bool(env.get("FLASK_DEBUG"), False) else "production")
    s = Settings(
        app_env=app_env,
        secret_key=env.get("SECRET_KEY", ""),
        data_key=env.get("DATA_KEY", ""),
        database_url=env.get("DATABASE_URL", ""),
        redis_url=env.get("REDIS_URL") or None,
        storage=env.get("STORAGE", "local"),
        storage_dir=env.get("STORAGE_DIR", ""),
        qiniu_sandbox=_bool(env.get("QINIU_SANDBOX"), None),
        qiniu_access_key=env.get("QINIU_ACCESS_KEY", ""),
        qiniu_secret_key=env.get("QINIU_SECRET_KEY", ""),
        qiniu_bucket=env.get("QINIU_BUCKET", ""),
        qiniu_domain=env.get("QINIU_DOMAIN", ""),
        qiniu_up_host=env.get("QINIU_UP_HOST", ""),
        qiniu_rs_host=env.get("QINIU_RS_HOST", ""),
        qiniu_callback_url=env.get("QINIU_CALLBACK_URL", ""),
        qiniu_timeout=_float("QINIU_TIMEOUT", 10.0),
        tz=env.get("TZ") or "Asia/Shanghai",
        access_token_minutes=_int("ACCESS_TOKEN_MINUTES", 15),
        refresh_token_days=_int("REFRESH_TOKEN_DAYS", 30),
        login_max_failures=_int("LOGIN_MAX_FAILURES", 5),
        login_lock_minutes=_int("LOGIN_LOCK_MINUTES", 15),
        login_rate_limit=env.get("LOGIN_RATE_LIMIT", "30 per minute"),
        initial_password_days=_int("INITIAL_PASSWORD_DAYS", 30),
        page_size_max=_int("PAGE_SIZE_MAX", 100),
        max_upload_bytes=_int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        wechat_sandbox=_bool(env.get("WECHAT_SANDBOX"), None),
        wechat_api_base=env.get("WECHAT_API_BASE", ""),
        wechat_mini_appid=env.get("WECHAT_MINI_APPID", ""),
        wechat_mini_secret=env.get("WECHAT_MINI_SECRET", ""),
        wechat_oa_appid=env.get("WECHAT_OA_APPID", ""),
        wechat_oa_secret=env.get("WECHAT_OA_SECRET", ""),
        wechat_timeout=_float("WECHAT_TIMEOUT", 5.0),
        wechat_oa_token=env.get("WECHAT_OA_TOKEN", ""),
        wechat_oa_aes_key=env.get("WECHAT_OA_AES_KEY", ""),
        wechat_oa_message_mode=env.get("WECHAT_OA_MESSAGE_MODE", ""),
        wechat_oa_timestamp_window_s=_int("WECHAT_OA_TIMESTAMP_WINDOW_S", 300),
        wechat_oa_bind_code_minutes=_int("WECHAT_OA_BIND_CODE_MINUTES", 10),
        wechat_oa_location_accuracy_m=_float("WECHAT_OA_LOCATION_ACCURACY_M", 500.0),
        wechat_oa_event_coord_sys=env.get("WECHAT_OA_EVENT_COORD_SYS", "wgs84"),
        wechat_oa_location_event_gap_minutes=_int("WECHAT_OA_LOCATION_EVENT_GAP_MINUTES", 60),
        meeting_late_entry_days=_int("MEETING_LATE_ENTRY_DAYS", 7),
        meeting_window_minutes=_int("MEETING_WINDOW_MINUTES", 30),
        photo_late_upload_minutes=_int("PHOTO_LATE_UPLOAD_MINUTES", 120),
        position_max_accuracy_m=_float("POSITION_MAX_ACCURACY_M", 100.0),
        duty_max_accuracy_m=_float("DUTY_MAX_ACCURACY_M", 100.0),
        duty_late_upload_minutes=_int("DUTY_LATE_UPLOAD_MINUTES", 30),
        duty_max_backdate_days=_int("DUTY_MAX_BACKDATE_DAYS", 31),
        duty_late_grace_minutes=_int("DUTY_LATE_GRACE_MINUTES", 10),
        duty_early_grace_minutes=_int("DUTY_EARLY_GRACE_MINUTES", 10),
        duty_early_checkin_minutes=_int("DUTY_EARLY_CHECKIN_MINUTES", 120),
        duty_max_speed_kmh=_float("DUTY_MAX_SPEED_KMH", 200.0),
        duty_repeat_position_m=_float("DUTY_REPEAT_POSITION_M", 1.0),
        duty_constant_accuracy_count=_int("DUTY_CONSTANT_ACCURACY_COUNT", 5),
        duty_photo_check_minutes=_int("DUTY_PHOTO_CHECK_MINUTES", 30),
        learning_complete_share=_float("LEARNING_COMPLETE_SHARE", 0.9),
        learning_beat_min_gap_s=_int("LEARNING_BEAT_MIN_GAP_S", 10),
        learning_beat_max_gap_s=_int("LEARNING_BEAT_MAX_GAP_S", 90),
        learning_flush_seconds=_int("LEARNING_FLUSH_SECONDS", 30),
        notify_subscribe_template=env.get("NOTIFY_SUBSCRIBE_TEMPLATE", ""),
        notify_oa_template=env.get("NOTIFY_OA_TEMPLATE", ""),
        notify_claim_lease_s=_int("NOTIFY_CLAIM_LEASE_S", 180),
        sms_provider=env.get("SMS_PROVIDER", ""),
        sms_api_base=env.get("SMS_API_BASE", ""),
        sms_access_key_id=env.get("SMS_ACCESS_KEY_ID", ""),
        sms_access_key_secret=env.get("SMS_ACCESS_KEY_SECRET", ""),
        sms_sign_name=env.get("SMS_SIGN_NAME", ""),
        sms_template_code=env.get("SMS_TEMPLATE_CODE", ""),
        sms_daily_limit=_int("SMS_DAILY_LIMIT", 3),
        sms_cost_fen=_int("SMS_COST_FEN", 5),
        sms_timeout=_float("SMS_TIMEOUT", 5.0),
        reminder_scan_minutes=_int("REMINDER_SCAN_MINUTES", 15),
        reminder_digest_hour=_int("REMINDER_DIGEST_HOUR", 8),
        reminder_scan_in_process=_bool(env.get("REMINDER_SCAN_IN_PROCESS"), None),
        reminders_since=_date("REMINDERS_SINCE"),
    )
    for key, value in (overrides or {}).items():
        if hasattr(s, key):
            setattr(s, key, value)
        else:
            s.extra[key] = value
    return _complete(s, instance_path)


def _complete(s: Settings, instance_path: str) -> Settings:
    if s.app_env not in {"development", "testing", "production"}:
        raise ConfigError(f"APP_ENV must be development, testing or production, got {s.app_env!r}")
    if s.is_production:
        if len(s.secret_key) < 32:
            raise ConfigError("SECRET_KEY is required in production (at least 32 characters)")
        if not s.data_key:
            raise ConfigError("DATA_KEY is required in production (a Fernet key)")
    elif not s.secret_key:
        s.secret_key = f"insecure-{s.app_env}-key-not-for-production-use"
    if not s.data_key:
        digest = hashlib.sha256(("data-key:" + s.secret_key).encode()).digest()
        s.data_key = base64.urlsafe_b64encode(digest).decode()
    if not s.database_url:
        s.database_url = "sqlite:///" + str(Path(instance_path) / "party.db")
    s.database_url = normalise_database_url(s.database_url)
    if not s.storage_dir:
        s.storage_dir = str(Path(instance_path) / "storage")
    if s.storage not in {"local", "qiniu"}:
        raise ConfigError(f"STORAGE must be local or qiniu, got {s.storage!r}")
    _complete_qiniu(s)
    _complete_wechat(s)
    _complete_notify(s)
    if not 0 < s.learning_complete_share <= 1:
        raise ConfigError("LEARNING_COMPLETE_SHARE must be a share between 0 (excluded) and 1")
    if not 0 < s.learning_beat_min_gap_s < s.learning_beat_max_gap_s:
        raise ConfigError("LEARNING_BEAT_MIN_GAP_S must be positive and below LEARNING_BEAT_MAX_GAP_S")
    if not 1 <= s.reminder_scan_minutes <= 1440:
        raise ConfigError("REMINDER_SCAN_MINUTES must be between 1 and 1440")
    if not 0 <= s.reminder_digest_hour <= 23:
        raise ConfigError("REMINDER_DIGEST_HOUR must be an hour of the day, 0 to 23")
    if s.reminder_scan_in_process is None:
        s.reminder_scan_in_process = s.app_env == "development" and not s.redis_url
    try:
        s.zone  # noqa: B018 - validates TZ
    except Exception as exc:  # ZoneInfoNotFoundError and ValueError
        raise ConfigError(f"TZ is not a known time zone: {s.tz!r}") from exc
    return s


SANDBOX_APPS = {
    "mini": ("wxsandboxmini00001", "sandbox-mini-secret"),
    "oa": ("wxsandboxoa0000001", "sandbox-oa-secret"),
}


def _complete_wechat(s: Settings) -> None:
    if s.wechat_sandbox is None:
        s.wechat_sandbox = not s.is_production
    if s.is_production and s.wechat_sandbox:
        raise ConfigError("WECHAT_SANDBOX cannot be on in production: it answers WeChat's API with fake data")
    if s.wechat_sandbox:
        s.wechat_mini_appid = s.wechat_mini_appid or SANDBOX_APPS["mini"][0]
        s.wechat_mini_secret = s.wechat_mini_secret or SANDBOX_APPS["mini"][1]
        s.wechat_oa_appid = s.wechat_oa_appid or SANDBOX_APPS["oa"][0]
        s.wechat_oa_secret = s.wechat_oa_secret or SANDBOX_APPS["oa"][1]
        s.wechat_api_base = s.wechat_api_base or "http://127.0.0.1:5000/_sandbox/wechat"
    s.wechat_api_base = (s.wechat_api_base or "https://api.weixin.qq.com").rstrip("/")
    if s.is_production and not (s.wechat_mini_appid and s.wechat_mini_secret):
        raise ConfigError("WECHAT_MINI_APPID and WECHAT_MINI_SECRET are required in production")
    if s.wechat_timeout <= 0:
        raise ConfigError("WECHAT_TIMEOUT must be a positive number of seconds")
    _complete_wechat_bot(s)


SANDBOX_OA_BOT = ("sandbox-oa-token", "SandboxOfficialAccountEncodingAESKey0123456")  # token, 43-char key


def _complete_wechat_bot(s: Settings) -> None:
    if s.wechat_sandbox:
        s.wechat_oa_token = s.wechat_oa_token or SANDBOX_OA_BOT[0]
        s.wechat_oa_aes_key = s.wechat_oa_aes_key or SANDBOX_OA_BOT[1]
        s.wechat_oa_message_mode = s.wechat_oa_message_mode or "plain"
    s.wechat_oa_message_mode = s.wechat_oa_message_mode or ("safe" if s.wechat_oa_aes_key else "plain")
    if s.wechat_oa_message_mode not in {"plain", "safe"}:
        raise ConfigError(f"WECHAT_OA_MESSAGE_MODE must be plain or safe, got {s.wechat_oa_message_mode!r}")
    if s.wechat_oa_aes_key:
        try:
            key = base64.b64decode(s.wechat_oa_aes_key + "=", validate=True)
            valid = len(s.wechat_oa_aes_key) == 43 and len(key) == 32
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError("WECHAT_OA_AES_KEY must be the account's 43-character EncodingAESKey")
    elif s.wechat_oa_message_mode == "safe":
        raise ConfigError("WECHAT_OA_MESSAGE_MODE=safe requires WECHAT_OA_AES_KEY")
    if s.wechat_oa_token and (s.wechat_oa_token != s.wechat_oa_token.strip() or not 3 <= len(s.wechat_oa_token) <= 32):
        raise ConfigError("WECHAT_OA_TOKEN must be 3 to 32 characters (WeChat's rule), without spaces around")
    if s.wechat_oa_event_coord_sys not in {"wgs84", "gcj02"}:
        raise ConfigError(f"WECHAT_OA_EVENT_COORD_SYS must be wgs84 or gcj02, got {s.wechat_oa_event_coord_sys!r}")
    if s.wechat_oa_timestamp_window_s <= 0 or s.wechat_oa_bind_code_minutes <= 0:
        raise ConfigError("WECHAT_OA_TIMESTAMP_WINDOW_S and WECHAT_OA_BIND_CODE_MINUTES must be positive")


SANDBOX_SMS = {
    "sms_access_key_id": "sandbox-sms-key",
    "sms_access_key_secret": "sandbox-sms-secret",
    "sms_sign_name": "党建云",
    "sms_template_code": "SMS_SANDBOX_001",
}
NOTIFY_SEND_TIMEOUT_S = 60  # the send job's RQ timeout (tasks/notifications.py)


def _complete_notify(s: Settings) -> None:
    if s.wechat_sandbox:
        s.notify_subscribe_template = s.notify_subscribe_template or "SBX_TODO_REMINDER"
        s.notify_oa_template = s.notify_oa_template or "SBX_OA_TODO_NOTICE"
    if not NOTIFY_SEND_TIMEOUT_S < s.notify_claim_lease_s <= 540:
        raise ConfigError(f"NOTIFY_CLAIM_LEASE_S must be above {NOTIFY_SEND_TIMEOUT_S} and at most 540 seconds")
    s.sms_provider = s.sms_provider or ("none" if s.is_production else "sandbox")
    if s.sms_provider not in {"sandbox", "aliyun", "none"}:
        raise ConfigError(f"SMS_PROVIDER must be sandbox, aliyun or none, got {s.sms_provider!r}")
    if s.sms_provider == "sandbox":
        if s.is_production:
            raise ConfigError("SMS_PROVIDER=sandbox cannot be used in production: it sends nothing")
        for name, value in SANDBOX_SMS.items():
            setattr(s, name, getattr(s, name) or value)
        s.sms_api_base = s.sms_api_base or "http://127.0.0.1:5000/_sandbox/sms"
    elif s.sms_provider == "aliyun":
        s.sms_api_base = s.sms_api_base or "https://dysmsapi.aliyuncs.com"
        missing = [n.upper() for n in ("sms_access_key_id", "sms_access_key_secret", "sms_sign_name")]
        missing += ["SMS_TEMPLATE_CODE"] if not s.sms_template_code else []
        missing = [n for n in missing if not getattr(s, n.lower())]
        if missing:
            raise ConfigError(f"SMS_PROVIDER=aliyun requires {', '.join(missing)}")
    s.sms_api_base = s.sms_api_base.rstrip("/")
    if s.sms_daily_limit < 0 or s.sms_cost_fen < 0 or s.sms_timeout <= 0:
        raise ConfigError("SMS_DAILY_LIMIT and SMS_COST_FEN must not be negative, SMS_TIMEOUT must be positive")


QINIU_SANDBOX_BASE = "http://127.0.0.1:5000/_sandbox/qiniu"
SANDBOX_QINIU = {
    "qiniu_access_key": "sandbox-qiniu-access-key",
    "qiniu_secret_key": "sandbox-qiniu-secret-key",
    "qiniu_bucket": "party-sandbox",
    "qiniu_domain": QINIU_SANDBOX_BASE + "/dl",
    "qiniu_up_host": QINIU_SANDBOX_BASE,
    "qiniu_rs_host": QINIU_SANDBOX_BASE,
}
QINIU_HOSTS = {"qiniu_up_host": "https://up-z0.qiniup.com", "qiniu_rs_host": "https://rs-z0.qiniuapi.com"}


def _complete_qiniu(s: Settings) -> None:
    if s.qiniu_sandbox is None:
        s.qiniu_sandbox = not s.is_production
    if s.is_production and s.qiniu_sandbox:
        raise ConfigError("QINIU_SANDBOX cannot be on in production: it stores files in place of Qiniu")
    for name, value in (SANDBOX_QINIU if s.qiniu_sandbox else QINIU_HOSTS).items():
        setattr(s, name, getattr(s, name) or value)
    for name in ("qiniu_domain", "qiniu_up_host", "qiniu_rs_host"):
        setattr(s, name, getattr(s, name).rstrip("/"))
    for name in ("qiniu_domain", "qiniu_up_host", "qiniu_rs_host", "qiniu_callback_url"):
        value = getattr(s, name)
        if value and not value.startswith(("http://", "https://")):
            raise ConfigError(f"{name.upper()} must be a URL with http:// or https://, got {value!r}")
    if s.storage == "qiniu":
        missing = [n.upper() for n in ("qiniu_access_key", "qiniu_secret_key", "qiniu_bucket", "qiniu_domain")]
        missing = [n for n in missing if not getattr(s, n.lower())]
        if missing:
            raise ConfigError(f"STORAGE=qiniu requires {', '.join(missing)}")
    if s.qiniu_timeout <= 0:
        raise ConfigError("QINIU_TIMEOUT must be a positive number of seconds")
