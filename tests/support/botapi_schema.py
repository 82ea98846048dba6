"""Load the Telegram Bot API description (``api.json``) and validate requests against it.

Used by :mod:`tests.support.botapi_server`.  The description lives in
``tests/fixtures/telegram-bot-api/api.json`` (Bot API 10.1, see the LICENSE beside it);
its shape is ``{"methods": {name: {"fields": [...], "returns": [...]}}, "types": {name:
{"fields": [...]} | {"subtypes": [...]}}}`` where every field is ``{"name", "types",
"required", "description"}`` and a type expression is ``Integer``, ``String``,
``Boolean``, ``Float``, ``InputFile``, a type name or ``Array of <type expression>``.

What is checked (everything raises :class:`ApiError` with Telegram's wording where known):

* every top-level parameter must be a field of the method (stricter than Telegram, which
  ignores unknown parameters: python-telegram-bot only sends known ones, so an unknown one
  is a bug in the bot); required fields must be present and non-empty;
* scalar types.  Form-encoded and multipart values are strings, so ``Integer``/``Float``
  must parse as numbers and ``Boolean`` must be one of true/false/1/0 (Telegram treats any
  other string as false; we refuse it);  JSON objects and arrays sent as strings are decoded;
* nested objects are validated recursively against ``types``: unknown fields, required
  fields, scalar types, abstract types resolved through the ``type``/``status``/``source``
  discriminator of their subtypes;
* limits Telegram enforces (see :func:`check_method_limits` and the type hooks): message
  text 1-4096 and captions 0-1024 characters *after entities parsing*, counted in UTF-16
  code units; ``callback_data`` 1-64 UTF-8 bytes; exactly one action field per inline
  button; ``answerCallbackQuery`` text <= 200; bot commands ``[a-z0-9_]{1,32}`` with a
  1-256 character description, at most 100 of them; known ``parse_mode`` and chat actions.

Entities parsing is approximate (:func:`render_text`): HTML tags must be supported
Telegram tags, properly nested and closed, and a bare ``<`` is refused; the four named
entities and numeric entities are decoded, other ``&`` sequences are kept literally.
MarkdownV2 honours backslash escapes, refuses unescaped reserved characters outside
code, and requires every ``*``, ``_``, ``__``, ``~``, ``||``, ``[..](..)`` and code
entity to be closed.  Legacy Markdown only checks that entities are closed.  The
resulting plain text is what the length limits measure.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent / "fixtures" / "telegram-bot-api" / "api.json"
)

SCALAR_TYPES = frozenset({"Integer", "String", "Boolean", "Float"})
ARRAY_PREFIX = "Array of "

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_COMMANDS = 100
MAX_COMMAND_LENGTH = 32
MAX_COMMAND_DESCRIPTION_LENGTH = 256

PARSE_MODES = {"html": "HTML", "markdownv2": "MarkdownV2", "markdown": "Markdown"}
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_NON_ACTION_FIELDS = frozenset({"text", "icon_custom_emoji_id", "style"})

_INT_RE = re.compile(r"-?\d+")
_BOOL_STRINGS = {"true": True, "1": True, "false": False, "0": False}
_COMMAND_RE = re.compile(r"[a-z0-9_]+")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always)\s+[\"“]?([a-z0-9_]+)[\"”]?")


class ApiError(Exception):
    """A refusal in Telegram's shape: ``{"ok": false, "error_code", "description"}``."""

    def __init__(
        self, description: str, error_code: int = 400, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(f"Bad Request: {message}", 400)


class _TypeMismatch(ApiError):
    """The value is plainly not of the type tried (wrong kind, wrong discriminator)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Bad Request: {message}", 400)


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart/form-data request."""

    field: str
    filename: str | None
    content: bytes
    content_type: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class TypeSpec:
    name: str
    fields: Mapping[str, FieldSpec] | None  # None for abstract types and InputFile
    subtypes: tuple[str, ...]
    # (field name, value) telling this subtype apart from its siblings, e.g. ("type", "chat")
    discriminator: tuple[str, str] | None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts text limits in."""
    return len(text.encode("utf-16-le")) // 2


def _fields(raw: list[dict[str, Any]] | None) -> dict[str, FieldSpec]:
    return {
        f["name"]: FieldSpec(
            name=f["name"],
            types=tuple(f["types"]),
            required=bool(f["required"]),
            description=f.get("description", ""),
        )
        for f in raw or []
    }


def _discriminator(fields: Mapping[str, FieldSpec]) -> tuple[str, str] | None:
    for name in ("type", "status", "source"):
        spec = fields.get(name)
        if spec is not None and spec.required:
            match = _DISCRIMINATOR_RE.search(spec.description)
            if match:
                return name, match.group(1)
    return None


@dataclass
class _Context:
    files: Mapping[str, UploadedFile]
    referenced: set[str]


class BotApiSchema:
    """The parsed API description plus a validator for requests."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = str(data.get("version", "unknown"))
        self.methods: dict[str, MethodSpec] = {}
        self._methods_lower: dict[str, MethodSpec] = {}
        for name, raw in data["methods"].items():
            spec = MethodSpec(
                name=name, fields=_fields(raw.get("fields")), returns=tuple(raw.get("returns", ()))
            )
            self.methods[name] = spec
            self._methods_lower[name.lower()] = spec
        self.types: dict[str, TypeSpec] = {}
        for name, raw in data["types"].items():
            fields = _fields(raw["fields"]) if "fields" in raw else None
            self.types[name] = TypeSpec(
                name=name,
                fields=fields,
                subtypes=tuple(raw.get("subtypes", ())),
                discriminator=_discriminator(fields) if fields else None,
            )
        self._type_hooks: dict[str, Callable[[dict[str, Any], str], None]] = {
            "InlineKeyboardButton": _check_inline_button,
            "KeyboardButton": _check_keyboard_button,
            "BotCommand": _check_bot_command,
        }

    @classmethod
    def load(cls, path: Path | None = None) -> BotApiSchema:
        return _load_cached(Path(path or DEFAULT_SCHEMA_PATH).resolve())

    def method(self, name: str) -> MethodSpec | None:
        """Look a method up case-insensitively, as Telegram does."""
        return self._methods_lower.get(name.lower())

    # -- request validation -------------------------------------------------------------

    def validate_request(
        self,
        method: MethodSpec,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> dict[str, Any]:
        """Validate one request and return its decoded parameters.

        ``params`` are the non-file parameters: strings when the body was form-encoded or
        multipart, JSON values when it was ``application/json`` (strings are decoded the
        same way in both cases).  ``files`` are the multipart file parts by part name; a
        file part named like a field of type ``InputFile`` is that field's value, any other
        must be referenced by an ``attach://<name>`` string somewhere in the parameters.
        Such references are replaced by the :class:`UploadedFile` they name.
        """
        files = files or {}
        ctx = _Context(files=files, referenced=set())
        decoded: dict[str, Any] = {}
        for name, value in params.items():
            spec = method.fields.get(name)
            if spec is None:
                raise bad_request(
                    f'unknown parameter "{name}" for method {method.name} '
                    "(the fake server is stricter than Telegram here)"
                )
            decoded[name] = self._check_field(spec, value, name, ctx)
        for name, upload in files.items():
            spec = method.fields.get(name)
            if spec is None:
                continue
            if name in decoded:
                raise bad_request(f'parameter "{name}" is given twice')
            if "InputFile" not in spec.types:
                raise bad_request(f'parameter "{name}" can\'t be a file upload')
            decoded[name] = upload
        ctx.referenced.update(_attach_references(decoded))
        for name in files:
            if name not in method.fields and name not in ctx.referenced:
                raise bad_request(
                    f'unknown parameter "{name}" for method {method.name}: a file part that '
                    "is not referenced by attach://"
                )
        for spec in method.fields.values():
            if spec.required and (spec.name not in decoded or decoded[spec.name] == ""):
                raise bad_request(_empty_message(method.name, spec.name))
        return decoded

    def _check_field(self, spec: FieldSpec, value: Any, path: str, ctx: _Context) -> Any:
        if isinstance(value, str):
            return self._check_form_string(spec.types, value, path, ctx)
        return self._check_types(spec.types, value, path, ctx)

    def _check_form_string(
        self, types: tuple[str, ...], value: str, path: str, ctx: _Context
    ) -> Any:
        """A top-level value that arrived as a string (form-encoded or multipart)."""
        structured = [t for t in types if t not in SCALAR_TYPES and t != "InputFile"]
        scalar = tuple(t for t in types if t in SCALAR_TYPES or t == "InputFile")
        stripped = value.strip()
        if structured and stripped[:1] in ("{", "["):
            try:
                decoded = json.loads(stripped)
            except ValueError:
                if not scalar:
                    raise bad_request(f'can\'t parse JSON in parameter "{path}"') from None
            else:
                return self._check_types(tuple(structured), decoded, path, ctx)
        if scalar:
            return self._check_types(scalar, value, path, ctx)
        raise bad_request(
            f'can\'t parse parameter "{path}": expected a JSON-serialized {" or ".join(types)}'
        )

    def _check_types(self, types: tuple[str, ...], value: Any, path: str, ctx: _Context) -> Any:
        if len(types) == 1:
            return self._check_type(types[0], value, path, ctx)
        candidates = list(types)
        if isinstance(value, dict):
            # Pick the object type the value plainly means to be (its required fields are
            # present), so that its specific error is reported, not "matches nothing".
            objects = [t for t in types if self._looks_like(t, value)]
            if objects:
                candidates = objects[:1]
        errors: list[ApiError] = []
        for type_expr in candidates:
            try:
                return self._check_type(type_expr, value, path, ctx)
            except ApiError as exc:
                errors.append(exc)
        specific = [e for e in errors if not isinstance(e, _TypeMismatch)]
        if len(errors) == 1 or specific:
            raise (specific or errors)[0]
        raise _TypeMismatch(f'parameter "{path}" must be of type {" or ".join(types)}')

    def _looks_like(self, type_expr: str, value: dict[str, Any]) -> bool:
        spec = self.types.get(type_expr)
        if spec is None:
            return False
        if spec.fields is None:
            return any(self._looks_like(sub, value) for sub in spec.subtypes)
        if spec.discriminator is not None:
            key, expected = spec.discriminator
            return value.get(key) == expected
        required = [f for f in spec.fields.values() if f.required]
        return bool(required) and all(f.name in value for f in required)

    def _check_type(self, type_expr: str, value: Any, path: str, ctx: _Context) -> Any:
        if type_expr.startswith(ARRAY_PREFIX):
            if not isinstance(value, list):
                raise _TypeMismatch(f'field "{path}" must be an Array')
            inner = type_expr[len(ARRAY_PREFIX) :]
            return [
                self._check_type(inner, item, f"{path}[{index}]", ctx)
                for index, item in enumerate(value)
            ]
        if type_expr in SCALAR_TYPES:
            return _check_scalar(type_expr, value, path)
        if type_expr == "InputFile":
            if isinstance(value, UploadedFile):
                return value
            if isinstance(value, str) and value.startswith("attach://"):
                name = value[len("attach://") :]
                if name not in ctx.files:
                    raise bad_request(f'file "{value}" referenced by "{path}" was not uploaded')
                ctx.referenced.add(name)
                return ctx.files[name]
            raise _TypeMismatch(f'field "{path}" must be an uploaded file')
        spec = self.types.get(type_expr)
        if spec is None:
            raise bad_request(f'field "{path}" has a type unknown to the schema: {type_expr}')
        if spec.fields is None and not spec.subtypes:
            # InputFile-like placeholders (CallbackGame, VideoChatStarted...): any object.
            if not isinstance(value, dict):
                raise _TypeMismatch(f'field "{path}" must be an Object')
            return value
        if spec.fields is None:
            return self._check_abstract(spec, value, path, ctx)
        return self._check_object(spec, value, path, ctx)

    def _check_abstract(self, spec: TypeSpec, value: Any, path: str, ctx: _Context) -> Any:
        if isinstance(value, dict):
            discriminated = [
                self.types[s]
                for s in spec.subtypes
                if s in self.types and self.types[s].discriminator is not None
            ]
            if discriminated:
                key = discriminated[0].discriminator[0]  # type: ignore[index]
                for sub in discriminated:
                    if sub.discriminator == (key, value.get(key)):
                        return self._check_object(sub, value, path, ctx)
                if any(s in SCALAR_TYPES or s.startswith(ARRAY_PREFIX) for s in spec.subtypes):
                    pass  # e.g. RichText: fall through to the union below
                else:
                    raise _TypeMismatch(
                        f'field "{path}" has unsupported {key} "{value.get(key)}" for {spec.name}'
                    )
        return self._check_types(spec.subtypes, value, path, ctx)

    def _check_object(self, spec: TypeSpec, value: Any, path: str, ctx: _Context) -> Any:
        if not isinstance(value, dict):
            raise _TypeMismatch(f'field "{path}" must be a JSON object ({spec.name})')
        assert spec.fields is not None
        if spec.discriminator is not None:
            key, expected = spec.discriminator
            if value.get(key) != expected:
                raise _TypeMismatch(f'field "{path}.{key}" must be "{expected}" for {spec.name}')
        checked: dict[str, Any] = {}
        for key, item in value.items():
            field_spec = spec.fields.get(key)
            if field_spec is None:
                raise bad_request(f'unknown field "{path}.{key}" in {spec.name}')
            checked[key] = self._check_types(field_spec.types, item, f"{path}.{key}", ctx)
        for field_spec in spec.fields.values():
            if field_spec.required and field_spec.name not in checked:
                raise bad_request(f'field "{path}.{field_spec.name}" of {spec.name} is required')
        hook = self._type_hooks.get(spec.name)
        if hook is not None:
            hook(checked, path)
        return checked


@functools.lru_cache(maxsize=4)
def _load_cached(path: Path) -> BotApiSchema:
    with path.open(encoding="utf-8") as handle:
        return BotApiSchema(json.load(handle))


def _empty_message(method: str, field: str) -> str:
    if field == "text" and method in ("sendMessage", "editMessageText"):
        return "message text is empty"
    return f"{field} is empty"


def _attach_references(value: Any) -> Iterator[str]:
    """Names of file parts referenced as ``attach://<name>`` (e.g. InputMedia.media)."""
    if isinstance(value, str):
        if value.startswith("attach://"):
            yield value[len("attach://") :]
    elif isinstance(value, dict):
        for item in value.values():
            yield from _attach_references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _attach_references(item)


def _check_scalar(type_expr: str, value: Any, path: str) -> Any:
    if type_expr == "String":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # Telegram converts numbers given for strings
    elif type_expr == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value)
    elif type_expr == "Float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif type_expr == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOL_STRINGS:
            return _BOOL_STRINGS[value.strip().lower()]
    raise _TypeMismatch(f'field "{path}" must be of type {type_expr}')


# -- type hooks -----------------------------------------------------------------------------


def _check_inline_button(button: dict[str, Any], path: str) -> None:
    if not button.get("text"):
        raise bad_request("BUTTON_TEXT_EMPTY")
    actions = sorted(k for k in button if k not in INLINE_BUTTON_NON_ACTION_FIELDS)
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline "
            f"keyboard ({path})"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, got {', '.join(actions)} ({path})"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not re.match(r"(?i)(https?|tg)://\S+$", url):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid")


def _check_keyboard_button(button: dict[str, Any], path: str) -> None:
    if not button.get("text"):
        raise bad_request(f"keyboard button text must be non-empty ({path})")


def _check_bot_command(command: dict[str, Any], path: str) -> None:
    name = command["command"]
    if not (1 <= len(name) <= MAX_COMMAND_LENGTH and _COMMAND_RE.fullmatch(name)):
        raise bad_request(f"BOT_COMMAND_INVALID ({path}.command={name!r})")
    description = command["description"]
    if not 1 <= utf16_len(description.strip()) <= MAX_COMMAND_DESCRIPTION_LENGTH:
        raise bad_request(f"BOT_COMMAND_DESCRIPTION_INVALID ({path}.description)")


# -- method limits --------------------------------------------------------------------------


def normalize_parse_mode(parse_mode: Any) -> str | None:
    if parse_mode in (None, ""):
        return None
    canonical = PARSE_MODES.get(str(parse_mode).lower())
    if canonical is None:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return canonical


def check_method_limits(method: str, params: Mapping[str, Any]) -> None:
    """Stateless limits beyond the schema's types (``method`` is the canonical name)."""
    for mode_field in ("parse_mode", "quote_parse_mode"):
        if mode_field in params:
            normalize_parse_mode(params[mode_field])
    if method in ("sendMessage", "editMessageText") and "rich_message" not in params:
        text = params.get("text")
        if text is None:
            raise bad_request("message text is empty")
        check_text(text, params.get("parse_mode"), params.get("entities"))
    if "caption" in params and isinstance(params["caption"], str):
        check_caption(params["caption"], params.get("parse_mode"), params.get("caption_entities"))
    if method == "answerCallbackQuery":
        text = params.get("text")
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG (answerCallbackQuery text is over 200 characters)")
    if method == "setMyCommands" and len(params["commands"]) > MAX_COMMANDS:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    if method in ("setMyCommands", "getMyCommands", "deleteMyCommands"):
        language = params.get("language_code", "")
        if language and not _LANGUAGE_RE.fullmatch(language):
            raise bad_request("invalid language code specified")
    if method == "sendChatAction" and params["action"] not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")


def check_text(text: str, parse_mode: Any, entities: Any = None) -> str:
    """Validate a message text; return the text a user would see."""
    plain = render_text(text, None if entities else parse_mode).strip()
    if not plain:
        raise bad_request("message text is empty")
    if utf16_len(plain) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return plain


def check_caption(caption: str, parse_mode: Any, entities: Any = None) -> str:
    plain = render_text(caption, None if entities else parse_mode).strip()
    if utf16_len(plain) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return plain


# -- entities parsing (approximate) -------------------------------------------------------


def render_text(text: str, parse_mode: Any) -> str:
    """Return ``text`` without its formatting markup, refusing malformed markup."""
    mode = normalize_parse_mode(parse_mode)
    if mode == "HTML":
        return _render_html(text)
    if mode == "MarkdownV2":
        return _render_markdown_v2(text)
    if mode == "Markdown":
        return _render_markdown(text)
    return text


def _entities_error(message: str) -> ApiError:
    return bad_request(f"can't parse entities: {message}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    }
)
_HTML_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z_-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_HTML_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d+)|#[xX]([0-9a-fA-F]+));")


def _render_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match:
                out.append(html.unescape(match.group(0)))
                i = match.end()
                continue
            out.append(char)
        elif char == "<":
            match = _HTML_TAG_RE.match(text, i)
            offset = _byte_offset(text, i)
            if match is None:
                raise _entities_error(f"Unsupported start tag at byte offset {offset}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in _HTML_TAGS:
                kind = "end" if closing else "start"
                raise _entities_error(f'Unsupported {kind} tag "{name}" at byte offset {offset}')
            if closing:
                if not stack or stack[-1] != name:
                    expected = f'"</{stack[-1]}>"' if stack else "no end tag"
                    raise _entities_error(
                        f"Unmatched end tag at byte offset {offset}, expected {expected}, "
                        f'found "</{name}>"'
                    )
                stack.pop()
            else:
                if name == "span" and "tg-spoiler" not in match.group(3):
                    raise _entities_error(
                        f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
                    )
                stack.append(name)
            i = match.end()
            continue
        else:
            out.append(char)
        i += 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
    "![": "CustomEmoji",
}


def _find_unescaped(text: str, needle: str, start: int) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(needle, i):
            return i
        i += 1
    return -1


def _unescape_v2(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _render_markdown_v2(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    line_start = True
    while i < len(text):
        char = text[i]
        offset = _byte_offset(text, i)
        was_line_start, line_start = line_start, False
        if char == "\\":
            if i + 1 < len(text) and 1 <= ord(text[i + 1]) <= 126:
                out.append(text[i + 1])
                i += 2
                continue
            out.append(char)
        elif char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = _find_unescaped(text, fence, i + len(fence))
            if end < 0:
                name = "Pre" if fence == "```" else "Code"
                raise _entities_error(f"Can't find end of {name} entity at byte offset {offset}")
            body = text[i + len(fence) : end]
            if fence == "```" and "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    body = rest  # language tag
            out.append(_unescape_v2(body))
            i = end + len(fence)
            continue
        elif char == ">" and was_line_start:
            pass  # block quotation
        elif text.startswith("**>", i) and was_line_start:
            i += 3
            continue
        elif char in "*~" or (char == "|" and text.startswith("||", i)) or char == "_":
            marker = "__" if text.startswith("__", i) else "||" if char == "|" else char
            if stack and stack[-1][0] == marker:
                stack.pop()
            else:
                stack.append((marker, offset))
            i += len(marker)
            continue
        elif char == "[" or (char == "!" and text.startswith("![", i)):
            marker = "![" if char == "!" else "["
            stack.append((marker, offset))
            i += len(marker)
            continue
        elif char == "]" and stack and stack[-1][0] in ("[", "!["):
            stack.pop()
            if not text.startswith("(", i + 1):
                raise _entities_error(f"Can't find end of a URL at byte offset {offset}")
            end = _find_unescaped(text, ")", i + 2)
            if end < 0:
                raise _entities_error(f"Can't find end of a URL at byte offset {offset}")
            i = end + 1
            continue
        elif char in _MDV2_RESERVED:
            raise _entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(char)
        line_start = char == "\n"
        i += 1
    if stack:
        marker, offset = stack[-1]
        raise _entities_error(
            f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset {offset}"
        )
    return "".join(out)


def _render_markdown(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        offset = _byte_offset(text, i)
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if char in "*_`":
            fence = "```" if text.startswith("```", i) else char
            end = text.find(fence, i + len(fence))
            if end < 0:
                raise _entities_error(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            out.append(text[i + len(fence) : end])
            i = end + len(fence)
            continue
        if char == "[":
            close = text.find("]", i + 1)
            if close < 0:
                raise _entities_error(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            out.append(text[i + 1 : close])
            i = close + 1
            if text.startswith("(", i):
                end = text.find(")", i)
                if end < 0:
                    raise _entities_error(f"Can't find end of a URL at byte offset {offset}")
                i = end + 1
            continue
        out.append(char)
        i += 1
    return "".join(out)
