"""In development, PORT alone is enough: BASE_URL follows it unless set."""

from __future__ import annotations


def test_base_url_follows_port_in_development(monkeypatch):
    from backend.config import Settings

    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    assert Settings(environment="development", _env_file=None).base_url == "http://127.0.0.1:8123"
    assert Settings(environment="development", base_url="https://letters.example", _env_file=None
                    ).base_url == "https://letters.example"
    monkeypatch.setenv("BASE_URL", "http://localhost:9000")
    assert Settings(environment="development", _env_file=None).base_url == "http://localhost:9000"
    # Outside development an address is never guessed.
    monkeypatch.delenv("BASE_URL")
    assert Settings(environment="test", _env_file=None).base_url == "http://127.0.0.1:8000"
