"""One Settings object (pydantic-settings, ``LIVECIRCLE_`` prefix, nested with ``__``).

Nothing else in the code base reads ``os.environ``. Defaults are the embedded
ones: SQLite under ``./var/``, media under ``./var/media/``, in-process fan-out.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - refused outside development
MIN_SECRET_LENGTH = 32


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class MediaSettings(BaseModel):
    # embedded: pyrtmp ingest in the app process piping into ffmpeg.
    # nginx: Debian's nginx + libnginx-mod-rtmp calls our /hooks/rtmp/* endpoints.
    # none: no ingest in this process (API-only nodes).
    adapter: Literal["embedded", "nginx", "none"] = "embedded"
    rtmp_host: str = "127.0.0.1"
    rtmp_port: int = 1935
    rtmp_public_url: str = ""
    ffmpeg: str = ""
    hls_segment_seconds: int = 1
    hls_list_size: int = 6
    reconnect_grace_seconds: float = 30.0
    # nginx adapter: where nginx writes HLS and recordings (defaults under media dir).
    nginx_hls_dir: Path | None = None

    @property
    def rtmp_base_url(self) -> str:
        return (self.rtmp_public_url or f"rtmp://{self.rtmp_host}:{self.rtmp_port}").rstrip("/")


class RealtimeSettings(BaseModel):
    # 100 ms: half the socket writes of 50 ms for the same danmaku, still well under a blink.
    tick_ms: int = Field(default=100, ge=5, le=1000)
    queue_limit: int = Field(default=256, ge=8)
    # A socket whose unsent bytes pass this is too slow and is closed (4008); it may resume.
    max_buffer_kib: int = Field(default=4096, ge=64)
    history_size: int = Field(default=50, ge=0, le=500)
    chat_max_length: int = Field(default=200, ge=1, le=2000)
    # Above this many ordinary chat lines per second in one room, the excess is
    # aggregated ("+37 said 链接"); host/moderator/pinned/gift events always go out.
    overload_chat_per_second: int = Field(default=60, ge=1)
    # Watch time: signed-in viewers on a room socket are credited this often (live.viewers).
    watch_credit_seconds: float = Field(default=30.0, ge=0.5, le=600)


class ChatSettings(BaseModel):
    rate_limit_messages: int = Field(default=20, ge=1)
    rate_limit_seconds: float = Field(default=30.0, gt=0)
    write_interval_ms: int = Field(default=200, ge=10, le=5000)
    # 0..31; several app processes each need their own (chat ids are made in-process).
    node_id: int = Field(default=0, ge=0, le=31)
    likes_per_connection_per_second: int = Field(default=30, ge=1)


class EarnRule(BaseModel):
    """Points for one earning event and how many points the rule may pay per UTC day."""

    points: int = Field(ge=0)
    daily_cap: int | None = Field(default=None, ge=0)  # None: no daily cap


def _default_earn_rules() -> dict[str, EarnRule]:
    return {
        "chat": EarnRule(points=1, daily_cap=20),  # per chat line
        "share": EarnRule(points=5, daily_cap=15),  # per share of a room or show
        "watch": EarnRule(points=2, daily_cap=30),  # per ``watch_minutes`` watched
        "invite": EarnRule(points=50, daily_cap=500),  # per invitee who signed up
    }


class PointsSettings(BaseModel):
    """积分: what earns points, the check-in streak, streak freezes and optional expiry."""

    earn: dict[str, EarnRule] = Field(default_factory=_default_earn_rules)
    watch_minutes: int = Field(default=5, ge=1)  # one ``watch`` award per this many minutes
    # Check-in day n of a streak pays checkin_base + min((n - 1) * checkin_step, checkin_max_bonus).
    checkin_base: int = Field(default=5, ge=1)
    checkin_step: int = Field(default=1, ge=0)
    checkin_max_bonus: int = Field(default=10, ge=0)
    # A user holds up to freeze_max freezes: one more every freeze_every_days of streak, or bought.
    freeze_max: int = Field(default=2, ge=0)
    freeze_every_days: int = Field(default=7, ge=1)
    freeze_price: int = Field(default=100, ge=1)  # points
    # 0: points never expire; else earned points expire this many days after they were earned.
    expiry_days: int = Field(default=0, ge=0)
    expiry_warning_days: int = Field(default=7, ge=1)  # "expiring soon" horizon of GET /points


def _default_privileges() -> dict[str, list[str]]:
    return {
        "follower": [],
        "participant": ["chat_badge"],
        "premium": ["chat_badge", "priority_cohost", "exclusive_discount", "member_only_rooms"],
    }


class TierSettings(BaseModel):
    """Levels from XP, member tiers (新关注者 → 参与者 → 高级会员), paid premium, privileges."""

    # XP needed for level 1, 2, ...: level n is reached at level_thresholds[n - 1].
    level_thresholds: list[int] = Field(default=[0, 5, 20, 65, 155, 515, 2015, 8015, 33015], min_length=1)
    participant_level: int = Field(default=3, ge=1)
    premium_level: int = Field(default=6, ge=1)
    membership_days: int = Field(default=30, ge=1)  # one paid period of premium
    membership_price: int = Field(default=300, ge=1)  # coins per period
    privileges: dict[str, list[str]] = Field(default_factory=_default_privileges)

    @model_validator(mode="after")
    def _thresholds_rise(self) -> TierSettings:
        steps = self.level_thresholds
        if steps[0] != 0 or any(b <= a for a, b in pairwise(steps)):
            raise ValueError("level_thresholds start at 0 and rise strictly")
        return self


class EconomySettings(BaseModel):
    """Coins, gifts and the tipping rules (2022 opinion on live tipping: caps, reminders, no minors)."""

    cents_per_coin: int = Field(default=10, ge=1)  # ¥1 buys 10 coins
    host_share_percent: int = Field(default=50, ge=0, le=100)  # of each gift; the rest is platform revenue
    max_gift_send: int = Field(default=50_000, ge=1)  # coins (or points) in one gift send
    daily_cap: int = Field(default=200_000, ge=1)  # coins a user may tip per UTC day
    daily_points_cap: int = Field(default=1_000_000, ge=1)
    daily_reminder: int = Field(default=20_000, ge=1)  # remind the user once spending passes this
    max_topup_coins: int = Field(default=500_000, ge=1)
    sandbox_payments: bool = True  # the sandbox provider (simulated payments) is on
    combo_seconds: float = Field(default=5.0, gt=0)
    points: PointsSettings = PointsSettings()
    tiers: TierSettings = TierSettings()


class CommerceSettings(BaseModel):
    """Live commerce: unpaid orders, quantities, the flash-sale gate."""

    order_timeout_seconds: int = Field(default=900, ge=1)  # an unpaid order releases its stock
    max_quantity: int = Field(default=99, ge=1)  # units of one SKU in one order
    max_pins: int = Field(default=3, ge=1)  # cards highlighted at once per show
    # Several nodes: the Redis gate answers "sold out" before the database is touched; a
    # reservation not confirmed by an order within this many seconds is repaired.
    gate_reconcile_after_seconds: float = Field(default=30.0, gt=0)


class SmtpSettings(BaseModel):
    """Outgoing e-mail. An empty host turns e-mail off (the inbox and webhooks still work)."""

    host: str = ""
    port: int = Field(default=25, ge=1, le=65535)
    username: str = ""
    password: str = ""
    starttls: bool = False
    sender: str = "livecircle <noreply@localhost>"
    timeout_seconds: float = Field(default=10.0, gt=0)


class GrowthSettings(BaseModel):
    """Reminders, notifications and invites (growth/)."""

    # Followers and those signed up hear about a show this many minutes before it starts.
    reminder_lead_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    # How often each node looks for shows whose time was set or changed (reminders re-planned).
    reminder_sync_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Deliveries (e-mail, webhooks): one attempt's time limit, and how many are sent at once.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    delivery_batch: int = Field(default=16, ge=1, le=500)
    smtp: SmtpSettings = SmtpSettings()
    # Invites: a registration counts for the inviter within this many days of the invite link
    # being opened; the invitee's first paid order within this many days of registering.
    invite_window_days: int = Field(default=30, ge=1)
    # A reward vests only once the invitee has watched this many minutes or paid an order.
    invite_vest_watch_minutes: int = Field(default=10, ge=1)
    # Fraud rules: at most this many invited sign-ups from one IP or one device per window,
    # and at most this many rewarded invites per inviter per UTC day.
    invite_burst_limit: int = Field(default=3, ge=1)
    invite_burst_window_minutes: int = Field(default=60, ge=1)
    invite_daily_cap: int = Field(default=20, ge=1)
    # The reward: the economy's ``invite`` points rule, or one coupon of this template (of the
    # inviter's tenant; give it a ``per_user`` as high as the rewards one inviter may earn).
    invite_coupon_template_id: int | None = Field(default=None, ge=1)


class CommunitySettings(BaseModel):
    """Communities (社群): posting and the daily check-in task (打卡)."""

    post_max_length: int = Field(default=5000, ge=1)
    comment_max_length: int = Field(default=1000, ge=1)
    checkin_task_points: int = Field(default=5, ge=0)  # per community check-in task done


class PasswordHashSettings(BaseModel):
    """argon2id cost (argon2-cffi's defaults: RFC 9106's low-memory choice). Production refuses
    less than OWASP's minimum (19 MiB, 2 passes); the test suite uses the cheapest (as Django's
    test runner swaps in a fast hasher), since it creates accounts by the thousand."""

    time_cost: int = Field(default=3, ge=1)
    memory_cost_kib: int = Field(default=65_536, ge=8)
    parallelism: int = Field(default=4, ge=1)


class AnalyticsSettings(BaseModel):
    """The DuckDB replica of the event log and the live dashboard's cadence."""

    # A file keeps the replica across restarts (rebuilt from the event log if lost);
    # ":memory:" rebuilds it at start. Empty: <var_dir>/analytics.duckdb.
    replica: str = ""
    sync_seconds: float = Field(default=1.0, gt=0, le=60)
    # Live viewers are sampled into the log this often (the report's viewer curve).
    online_sample_seconds: int = Field(default=5, ge=1, le=300)
    # Alert rules are judged this often for every live show.
    alert_check_seconds: float = Field(default=2.0, gt=0, le=60)


class RateLimit(BaseModel):
    """At most ``limit`` attempts per ``window_seconds`` (a sliding window)."""

    limit: int = Field(ge=1)
    window_seconds: float = Field(gt=0)


class SecuritySettings(BaseModel):
    """Transport and abuse protection (docs/security.md): WebSocket origins, headers, rate limits."""

    # Origins a browser may open the room socket from, besides the public base URL and the
    # page's own host (same-origin). E.g. ["https://live.example.com"].
    allowed_origins: list[str] = Field(default_factory=list)
    hsts_seconds: int = Field(default=31_536_000, ge=0)  # one year (ASVS 3.4.1)
    ws_ticket_seconds: int = Field(default=30, ge=1, le=300)
    # Failed sign-ins per account and IP; every sign-in attempt per IP; sign-ups per IP.
    login_per_account_ip: RateLimit = RateLimit(limit=10, window_seconds=60)
    login_per_ip: RateLimit = RateLimit(limit=100, window_seconds=60)
    register_per_ip: RateLimit = RateLimit(limit=30, window_seconds=600)
    password_change_per_user: RateLimit = RateLimit(limit=5, window_seconds=900)
    # "Sensitive" endpoints (data exports, WebSocket tickets, ...) per user.
    sensitive_per_user: RateLimit = RateLimit(limit=10, window_seconds=3600)
    ws_tickets_per_user: RateLimit = RateLimit(limit=60, window_seconds=60)


class PrivacySettings(BaseModel):
    """Members' data rights (docs/privacy.md): export links, account deletion."""

    export_link_days: int = Field(default=7, ge=1, le=30)  # a download link works this long
    exports_per_day: int = Field(default=3, ge=1, le=100)  # export requests per member per 24 h
    deletion_cooling_off_days: int = Field(default=7, ge=0, le=30)  # 0: erase at once


class RetentionSettings(BaseModel):
    """Days each retention class of the data map is kept (docs/privacy.md, privacy/retention.py);
    None: as long as the account (erasure ends it). Orders and the audit log never go below
    the legal 3 years (raised to it)."""

    account: int | None = None
    session: int | None = Field(default=0, ge=0)
    content: int | None = None
    activity: int | None = Field(default=730, ge=1)
    analytics_raw: int | None = Field(default=180, ge=1)  # raw events are pseudonymised after it
    commerce: int | None = Field(default=1095, ge=1095)
    audit: int | None = Field(default=1095, ge=1095)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LIVECIRCLE_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    env: Literal["development", "test", "staging", "production"] = "development"
    var_dir: Path = Path("./var")
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = DEV_SECRET
    default_tenant: str = "demo"
    default_locale: Literal["zh-CN", "en"] = "zh-CN"
    log_json: bool = True
    log_level: str = "INFO"
    session_max_age_days: int = 30
    cookie_secure: bool = False
    http: HttpSettings = HttpSettings()
    media: MediaSettings = MediaSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    chat: ChatSettings = ChatSettings()
    economy: EconomySettings = EconomySettings()
    commerce: CommerceSettings = CommerceSettings()
    growth: GrowthSettings = GrowthSettings()
    community: CommunitySettings = CommunitySettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    password_hash: PasswordHashSettings = PasswordHashSettings()
    security: SecuritySettings = SecuritySettings()
    privacy: PrivacySettings = PrivacySettings()
    retention: RetentionSettings = RetentionSettings()

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.env not in ("development", "test") and (
            self.secret_key == DEV_SECRET or len(self.secret_key) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                f"LIVECIRCLE_SECRET_KEY must be a real secret of at least {MIN_SECRET_LENGTH} characters "
                f"outside development (env={self.env})"
            )
        cost = self.password_hash
        if self.env == "production" and (cost.memory_cost_kib < 19_456 or cost.time_cost < 2):
            raise ValueError("password_hash below OWASP's argon2id minimum (19 MiB, 2 passes) in production")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.var_dir / 'livecircle.db').resolve()}"

    @property
    def analytics_replica(self) -> str:
        return self.analytics.replica or str((self.var_dir / "analytics.duckdb").resolve())

    @property
    def media_dir(self) -> Path:
        return (self.var_dir / "media").resolve()

    @property
    def hls_dir(self) -> Path:
        return (self.media.nginx_hls_dir or self.media_dir / "hls").resolve()

    @property
    def replay_dir(self) -> Path:
        return self.media_dir / "replay"


@lru_cache
def get_settings() -> Settings:
    return Settings()
