"""Reading back what a POST created: its Location and the lists, shared by the services' tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def recorded(client: TestClient, path: str, body: dict[str, Any], location: str | None = None) -> dict[str, Any]:
    """POST, then GET what its Location names (`location`/<id>, by default under `path`): the
    same resource, under the returned id."""
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{location or path}/{created['id']}"
    read = client.get(response.headers["location"])
    assert read.status_code == 200, read.text
    assert read.json() == created
    return dict(created)


def every_page(client: TestClient, path: str, **params: Any) -> list[str]:
    """Ids of every item, one at a time through the cursor."""
    ids: list[str] = []
    cursor = None
    while True:
        page = client.get(path, params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
