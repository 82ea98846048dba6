"""A thin async client of the Zalo Bot Platform's Bot API, on httpx.

Every method is a POST of a JSON body to `{base_url}{token}/{method}`; answers are
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": ...}`.
The API is small and shaped like Telegram's, so a client of our own is safer than the
registry's young Zalo packages. Failures become `ZaloError`s that say whether trying
again can help; retrying is the caller's choice. The token is part of every URL, so no
message here ever contains a URL.
"""

from __future__ import annotations

from typing import Any

import httpx

# Zalo's answer to a long poll that found nothing: not an error, poll again.
NOTHING_YET = 408
TEXT_LIMIT = 2000


class ZaloError(Exception):
    """A call that did not succeed. `retryable`: the same call may work a bit later."""

    def __init__(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{method}: {error_code} {description}")
        self.method = method
        self.error_code = error_code
        self.description = description
        self.retryable = retryable
        self.retry_after = retry_after


class ZaloBotApi:
    def __init__(
        self, token: str, base_url: str, *, timeout: float = 10.0, user_agent: str = "sxsh-bot"
    ) -> None:
        self._prefix = f"{base_url}{token}/"
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": user_agent},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, body: dict[str, Any], *, timeout: float | None = None) -> Any:
        """POST one method; its `result`, or a `ZaloError`."""
        try:
            response = await self._http.post(
                self._prefix + method,
                json=body,
                timeout=httpx.Timeout(timeout if timeout is not None else self.timeout),
            )
        except httpx.TimeoutException as error:
            raise ZaloError(
                method, 0, f"timed out ({type(error).__name__})", retryable=True
            ) from None
        except httpx.TransportError as error:
            raise ZaloError(
                method, 0, f"network error ({type(error).__name__})", retryable=True
            ) from None
        return _result(method, response)

    async def get_me(self) -> dict[str, Any]:
        me = await self.call("getMe", {})
        return me if isinstance(me, dict) else {}

    async def get_updates(self, timeout: int) -> list[dict[str, Any]]:
        """Wait up to `timeout` seconds for news: Zalo hands out one update per call."""
        try:
            # Zalo documents the timeout as a string.
            result = await self.call(
                "getUpdates", {"timeout": str(timeout)}, timeout=timeout + self.timeout
            )
        except ZaloError as error:
            if error.error_code == NOTHING_YET:
                return []
            raise
        return updates_in(result)

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        if not 8 <= len(secret_token) <= 256:
            raise ValueError("a Zalo webhook secret has 8 to 256 characters")
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook", {})

    async def get_webhook_info(self) -> Any:
        return await self.call("getWebhookInfo", {})

    async def send_message(self, chat_id: str, text: str) -> Any:
        _check_text(text, "text")
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> Any:
        """Zalo takes photos by URL only; it fetches the picture itself."""
        body = {"chat_id": chat_id, "photo": photo_url}
        if caption is not None:
            _check_text(caption, "caption")
            body["caption"] = caption
        return await self.call("sendPhoto", body)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        return await self.call("sendChatAction", {"chat_id": chat_id, "action": action})


def updates_in(result: object) -> list[dict[str, Any]]:
    """The updates in a getUpdates result or a webhook body.

    Zalo sends one update, bare or wrapped in {"ok": true, "result": ...}; a list is
    accepted as well, should the platform ever batch them.
    """
    if isinstance(result, dict) and "message" not in result and "result" in result:
        result = result["result"]
    if isinstance(result, dict):
        return [result] if result else []
    if isinstance(result, list):
        return [update for update in result if isinstance(update, dict)]
    return []


def _check_text(text: str, field: str) -> None:
    if not 1 <= len(text) <= TEXT_LIMIT:
        raise ValueError(f"a Zalo {field} has 1 to {TEXT_LIMIT} characters, not {len(text)}")


def _result(method: str, response: httpx.Response) -> Any:
    status = response.status_code
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or "ok" not in payload:
        # A proxy's error page, or something that is not the Bot API at all.
        return _fail(method, status if status >= 400 else 502, response.reason_phrase, None)
    if payload["ok"] is True:
        return payload.get("result")
    code = payload.get("error_code")
    error_code = code if isinstance(code, int) else status if status >= 400 else 400
    parameters = payload.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return _fail(
        method,
        error_code,
        str(payload.get("description") or response.reason_phrase),
        retry_after if isinstance(retry_after, int | float) else None,
    )


def _fail(method: str, error_code: int, description: str, retry_after: float | None) -> Any:
    retryable = error_code == 429 or error_code >= 500
    raise ZaloError(method, error_code, description, retryable=retryable, retry_after=retry_after)
