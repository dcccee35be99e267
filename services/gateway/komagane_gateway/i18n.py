"""Problem messages in Japanese or English, chosen by `Accept-Language`.

Japanese is the default: most users are Japanese residents and staff. English answers a caller
who prefers it — or who asks only for languages we do not have (a foreign resident asking for
`vi` or `pt` reads English more likely than Japanese). The code writes problems in English;
`LocalizedProblems` rewrites every problem+json answer that leaves the gateway — its own
(401, 403, 404, 409, 413, 422, 429, 503, 504 …) and the services' it forwards — when the
answer is to be Japanese: `title` from the catalogue (or from the status), `detail` from the
catalogue's template filled with the problem's own fields, where the kind is known. Kinds not
in the catalogue keep their English detail under a Japanese title. `Content-Language` says
which it is.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from komagane_kit.errors import PROBLEM_BASE, PROBLEM_JSON

SUPPORTED = ("ja", "en")
DEFAULT = "ja"

STATUS_TITLES_JA = {
    400: "不正なリクエストです",
    401: "認証が必要です",
    403: "この操作は許可されていません",
    404: "見つかりません",
    405: "このメソッドは使えません",
    409: "現在の状態と競合しています",
    410: "もう存在しません",
    413: "リクエストが大きすぎます",
    415: "この形式には対応していません",
    422: "入力内容を処理できません",
    429: "リクエストが多すぎます",
    500: "内部エラーが発生しました",
    502: "上流サービスの応答が不正です",
    503: "サービスを利用できません",
    504: "上流サービスが時間内に応答しませんでした",
}

# kind → (Japanese title, Japanese detail template over the problem's fields; None keeps the detail)
CATALOGUE: dict[str, tuple[str, str | None]] = {
    "unauthorized": ("認証が必要です", "有効なベアラートークンが必要です（Authorization: Bearer <token>）。"),
    "forbidden": ("この操作は許可されていません", "この役割では {route_class} の操作はできません。"),
    "wrong-hub": ("担当外の拠点です", "担当している拠点以外への書き込みはできません（対象: {hubs}）。"),
    "reason-required": ("理由の記入が必要です", "本人に代わる操作や要配慮個人情報の閲覧には、X-Access-Reason ヘッダーで理由を示してください（3〜500文字）。"),
    "rate-limited": ("リクエストが多すぎます", "{route_class} のリクエストが多すぎます。しばらく待ってから再試行してください。"),
    "service-unavailable": ("サービスを利用できません", "{service} サービスは現在利用できません。しばらくしてから再試行してください。"),
    "dependency-unavailable": ("一時的に利用できません", "必要なデータストアが一時的に利用できません。しばらくしてから再試行してください。"),
    "upstream-timeout": ("応答がありません", "{service} サービスが時間内に応答しませんでした。しばらくしてから再試行してください。"),
    "not-found": ("見つかりません", "このパスに該当するものはありません。"),
    "profile-not-found": ("プロフィールがありません", "プロフィールがありません。本人が登録されていないか、プロフィール作成（PROFILE）に同意していません。"),
    "profile-version-not-reached": ("プロフィールが未更新です", "プロフィールはまだバージョン {version} です。少し待ってから再試行してください。"),
    "kpis-not-found": ("KPI がありません", "この月の集計はまだありません。"),
    "hub-mix-not-found": ("集計がありません", "この拠点の参加はまだ集計されていません。"),
    "schema-not-found": ("スキーマがありません", "このイベント型のスキーマは公開されていません。"),
    "idempotency-key-reused": (
        "Idempotency-Key が再利用されました",
        "この Idempotency-Key は別のリクエストに使われています。新しいリクエストには新しいキーを使ってください。",
    ),
    "idempotency-key-in-progress": ("処理中です", "同じ Idempotency-Key のリクエストを処理中です。少し待ってから再試行してください。"),
    "invalid-idempotency-key": ("Idempotency-Key が不正です", "Idempotency-Key は1〜200文字で指定してください。"),
    "validation-error": ("入力内容に誤りがあります", "入力内容に誤りがあります: {fields}"),
    "payload-too-large": ("リクエストが大きすぎます", None),
    "malformed-json": ("JSON として読めません", "リクエストの本文が正しい JSON ではありません。"),
    "unsupported-media-type": ("この形式には対応していません", "本文は application/json で送ってください。"),
    "method-not-allowed": ("このメソッドは使えません", "このパスでは {method} は使えません。使えるメソッドは Allow ヘッダーのとおりです。"),
    "invalid-cursor": ("カーソルが不正です", "このカーソルはこの API が返したものではありません。"),
    "invalid-characters": ("使えない文字が含まれています", "リクエストに NUL 文字が含まれています。"),
    "internal-error": ("内部エラーが発生しました", "予期しないエラーが発生しました。記録済みです。"),
    "internal-token-required": ("認証が必要です", None),
    "unknown-person": ("登録されていない人です", None),
    "person-erased": ("消去された人です", "本人の求めにより消去された人です。この人についての記録はもう受け付けません。"),
}


def language(accept_language: str | None) -> str:
    """`ja` or `en` for an Accept-Language header (RFC 9110 §12.5.4, q-values honoured)."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in SUPPORTED:
            return primary
        if primary == "*":
            return DEFAULT
    return "en" if ranked else DEFAULT


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


def localize(problem: dict[str, Any], lang: str) -> dict[str, Any]:
    if lang != "ja":
        return problem
    kind = str(problem.get("type", "")).removeprefix(PROBLEM_BASE)
    status = problem.get("status")
    title, template = CATALOGUE.get(kind, (STATUS_TITLES_JA.get(status, "エラー") if isinstance(status, int) else "エラー", None))
    fields = _Fields({k: ", ".join(map(str, v)) if isinstance(v, list) and k != "errors" else v for k, v in problem.items()})
    if isinstance(problem.get("errors"), list):
        fields["fields"] = ", ".join(dict.fromkeys(str(e.get("field", "")) for e in problem["errors"] if isinstance(e, dict)))
    localized = {**problem, "title": title}
    if template is not None:
        localized["detail"] = template.format_map(fields)
    return localized


class LocalizedProblems:
    """Rewrites problem+json answers into the caller's language (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = next((v for k, v in message.get("headers", []) if k.lower() == b"content-type"), b"")
                if content_type.startswith(PROBLEM_JSON.encode()):
                    start = message  # hold it until the body is complete
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            # Only now, for a problem: most answers are not, and need no language.
            accept = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"accept-language"), None)
            lang = language(accept)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-language"]
            if body:  # (a HEAD answer has none: its headers stay as they are)
                with contextlib.suppress(ValueError, AttributeError):  # not a problem after all: pass it on untouched
                    body = json.dumps(localize(json.loads(body), lang), ensure_ascii=False).encode()
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"] + [(b"content-length", str(len(body)).encode())]
            headers.append((b"content-language", lang.encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)
