"""A fake api.together.ai for the SDK's own client (tests only; loaded by path, not collected).

Pages come from examples/real-bill/responses.py, built from the SDK's own types. The SDK
and httpx are imported when used, so that collecting this file (pytest imports every
module for its doctests) works without the `together` extra.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

SAVED = Path(__file__).resolve().parent.parent / "examples" / "real-bill"


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def responses() -> Any:
    """examples/real-bill/responses.py (it needs the SDK)."""
    return _load(SAVED / "responses.py", "real_bill_responses")


class Server:
    """Pages by path and ``after`` cursor; records every request."""

    def __init__(self, routes: dict[str, list[Any]]) -> None:
        self.routes = routes
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        import httpx

        self.requests.append(request)
        pages = self.routes.get(request.url.path)
        if pages is None:
            return httpx.Response(404, json={"error": {"message": "not found"}})
        cursor = request.url.params.get("after")
        index = (
            0
            if cursor is None
            else next(i for i, page in enumerate(pages) if page.get("cursor") == cursor)
        )
        body = {k: v for k, v in pages[index].items() if k != "cursor"}
        return httpx.Response(200, json=body)

    def client(self) -> Any:
        import httpx
        import together

        return together.Together(
            api_key="test",
            base_url="http://test.invalid/",
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
            max_retries=0,
        )

    def urls(self, path: str) -> list[str]:
        return [str(r.url) for r in self.requests if r.url.path == path]


def catalog_server() -> Server:
    saved = responses().catalog_responses()
    models = saved["supported_models"]
    hardware = saved["hardware"][0]
    # The hardware list comes whole today (next_cursor null); page it to prove it is followed.
    first = {**hardware, "data": hardware["data"][:2], "next_cursor": "h2"}
    second = {**hardware, "data": hardware["data"][2:], "next_cursor": None, "cursor": "h2"}
    return Server(
        {
            "/v2/supported-models": [models[0], {**models[1], "cursor": "c2"}],
            "/v2/public/inference-instance-types": [first, second],
        }
    )


def usage_server(mutate: Any = None) -> Server:
    saved = responses().usage_report()["pages"]
    pages = [saved[0], {**saved[1], "cursor": "w16"}]
    if mutate is not None:
        mutate(pages)
    return Server({"/v1/billing/usage": pages})
