"""A message for the next page after a form post (post/redirect/get), kept in the session."""

from __future__ import annotations

from fastapi import Request


def flash(request: Request, message: str, *, kind: str = "ok") -> None:
    """`message` is already in the viewer's language."""
    request.session["flash"] = {"message": message, "kind": kind}


def take_flash(request: Request) -> dict[str, str] | None:
    value = request.session.pop("flash", None)
    return value if isinstance(value, dict) else None
