"""``get_settings()`` is cached per set of environment values (issue 15: ~94 calls per ingest)."""

from __future__ import annotations

from chalicelib import settings


def test_settings_are_built_once_per_environment_and_follow_changes(monkeypatch):
    monkeypatch.setenv("HELPDESK_TABLE", "t-one")
    settings.reset()
    first = [settings.get_settings() for _ in range(100)]
    assert settings.builds == 1 and all(s is first[0] for s in first)
    assert first[0].table_name == "t-one"

    monkeypatch.setenv("HELPDESK_TABLE", "t-two")  # a test (or a stage) changes the environment
    assert settings.get_settings().table_name == "t-two"
    monkeypatch.setenv("HELPDESK_SWEEP_WORKERS", "3")
    assert settings.get_settings().sweep_workers == 3
    monkeypatch.delenv("HELPDESK_SWEEP_WORKERS")
    monkeypatch.setenv("HELPDESK_TABLE", "t-one")
    assert settings.get_settings() is first[0]  # back to the first environment: the cached object
    assert settings.builds == 3


def test_defaults_are_those_of_the_uncached_reader(monkeypatch):
    for name in settings.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HELPDESK_TABLE", "")  # set but empty stays empty, as os.environ.get gives it
    s = settings.get_settings()
    assert (s.table_name, s.raw_bucket, s.due_shards, s.auth_mode, s.public_base_url, s.sweep_workers) == (
        "", "helpdesk-raw", 8, "token", "", settings.DEFAULT_SWEEP_WORKERS)
    assert s.rules_dir == settings.APP_ROOT / "rules" and s.region == "ap-northeast-1"

