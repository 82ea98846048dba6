"""Settings from the environment or a `.env` file, every name prefixed `SXSH_`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
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
    timezone: str = "Asia/Ho_Chi_Minh"
    # Telegram user ids of the first administrators: "12345,67890".
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    invitation_days: int = Field(default=30, ge=1, le=365)
    # Messages per second across all chats (Telegram allows about 30).
    send_rate: float = Field(default=25.0, gt=0, le=30)
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
