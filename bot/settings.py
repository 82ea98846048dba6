"""Settings from the environment or a `.env` file, every name prefixed `SXSH_`."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SXSH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db_path: Path = Path("sxsh.db")
    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_bot_username: str | None = None
    # Seconds a getUpdates call waits for news (long polling).
    telegram_poll_timeout: int = Field(default=30, ge=0, le=60)
    zalo_token: SecretStr | None = None
    zalo_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    # Seconds a Zalo getUpdates call waits for news (long polling).
    zalo_poll_timeout: int = Field(default=30, ge=1, le=60)
    # Zalo sends it back in X-Bot-Api-Secret-Token on every webhook call (8–256 characters).
    zalo_webhook_secret: SecretStr | None = None
    # The public https address Zalo should call; registered with setWebhook when set.
    zalo_webhook_url: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    # Telegram user ids of the first administrators: "12345,67890".
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    invitation_days: int = Field(default=30, ge=1, le=365)
    # Messages per second across all chats (Telegram allows about 30).
    send_rate: float = Field(default=30.0, gt=0, le=30)
    # Yearly reports are due *before* this day: its 00:00 local time is the deadline.
    report_deadline_month: int = Field(default=12, ge=1, le=12)
    report_deadline_day: int = Field(default=15, ge=1, le=31)
    # Days before the deadline a reminder falls due: "30,14,7,3,1".
    reminder_offsets: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [30, 14, 7, 3, 1]
    )
    # Reminders go out only between these local times (start included, end excluded).
    reminder_window_start: time = time(8, 0)
    reminder_window_end: time = time(20, 0)
    # Minutes between two reminder runs while the bot runs.
    reminder_interval_minutes: int = Field(default=10, ge=1, le=720)
    # A folder of guidance snippets (*.md) used instead of the built-in library.
    guidance_dir: Path | None = None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, raw: object) -> object:
        if isinstance(raw, str):
            return [int(part) for part in raw.replace(";", ",").split(",") if part.strip()]
        if isinstance(raw, int):
            return [raw]
        return raw

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _split_offsets(cls, raw: object) -> object:
        if isinstance(raw, str):
            parts = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
            if not all(part.isdigit() for part in parts):
                raise ValueError("write whole numbers of days, e.g. 30,14,7,3,1")
            return [int(part) for part in parts]
        if isinstance(raw, int):
            return [raw]
        return raw

    @field_validator("reminder_offsets")
    @classmethod
    def _sensible_offsets(cls, offsets: list[int]) -> list[int]:
        if not offsets:
            raise ValueError("give at least one number of days, e.g. 30,14,7,3,1")
        if any(days < 1 or days > 180 for days in offsets):
            raise ValueError("each reminder is 1 to 180 days before the deadline")
        return sorted(set(offsets), reverse=True)

    @model_validator(mode="after")
    def _reminder_calendar_is_possible(self) -> Self:
        try:
            # 2025 is not a leap year: a deadline must exist every year.
            date(2025, self.report_deadline_month, self.report_deadline_day)
        except ValueError as error:
            raise ValueError(
                f"SXSH_REPORT_DEADLINE_DAY/MONTH: {self.report_deadline_day}/"
                f"{self.report_deadline_month} is not a day of every year"
            ) from error
        if self.reminder_window_start >= self.reminder_window_end:
            raise ValueError(
                "SXSH_REMINDER_WINDOW_START must be earlier than SXSH_REMINDER_WINDOW_END"
            )
        return self

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _secret_length(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not 8 <= len(secret.get_secret_value()) <= 256:
            raise ValueError("Zalo wants a secret of 8 to 256 characters")
        return secret

    @field_validator("zalo_webhook_url")
    @classmethod
    def _https_only(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith("https://"):
            raise ValueError("Zalo calls webhooks over https only: https://…")
        return url

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {zone!r}") from error
        return zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
