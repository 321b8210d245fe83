"""The preview's form token: a change without the token a preview page rendered, or from another
origin, is refused; with it, the signed-in user is passed on."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.http.errors import install_error_handlers
from service.preview.csrf import FIELD, HEADER, CsrfUser, csrf_token
from tests.support.apps import settings_for
from tests.support.keys import MARKETER


def _client(tmp_path: Path, api_key: str = MARKETER[1]) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.state.settings = settings_for(tmp_path, api_key=api_key)

    @app.post("/change")
    async def change(user: CsrfUser) -> dict[str, str]:
        return {"by": user}

    return TestClient(app)


def test_the_rendered_token_is_accepted_from_a_form_and_from_the_header(tmp_path: Path) -> None:
    client = _client(tmp_path)
    token = csrf_token(client.app.state.settings, "marketer")  # type: ignore[attr-defined]
    by_form = client.post("/change", data={FIELD: token}, auth=MARKETER)
    assert by_form.status_code == 200, by_form.text
    assert by_form.json() == {"by": "marketer"}
    by_header = client.post("/change", headers={HEADER: token, "Origin": "http://testserver"}, auth=MARKETER)
    assert by_header.status_code == 200, by_header.text


def test_a_missing_or_forged_token_is_refused(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert client.post("/change", data={}, auth=MARKETER).status_code == 403
    refused = client.post("/change", data={FIELD: "0" * 32}, auth=MARKETER)
    assert refused.status_code == 403
    assert FIELD in refused.json()["message"]


def test_another_origin_is_refused_even_with_the_token(tmp_path: Path) -> None:
    client = _client(tmp_path)
    token = csrf_token(client.app.state.settings, "marketer")  # type: ignore[attr-defined]
    refused = client.post("/change", data={FIELD: token}, headers={"Origin": "https://evil.example"}, auth=MARKETER)
    assert refused.status_code == 403
    assert "Origin" in refused.json()["message"]


def test_rotating_the_keys_invalidates_old_forms(tmp_path: Path) -> None:
    old = csrf_token(_client(tmp_path).app.state.settings, "marketer")  # type: ignore[attr-defined]
    rotated = _client(tmp_path, api_key="a-new-key-of-enough-length-0123456789")
    assert csrf_token(rotated.app.state.settings, "marketer") != old  # type: ignore[attr-defined]
    assert (
        rotated.post(
            "/change", data={FIELD: old}, auth=("marketer", "a-new-key-of-enough-length-0123456789")
        ).status_code
        == 403
    )
