"""app.yaml subscribes the App to exactly the events the bot acts on: no delivery GitHub sends for
nothing, none the bot waits for in vain."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.handlers import ACCESS_EVENTS, router

APP_YAML = Path(__file__).resolve().parent.parent / "app.yaml"


def test_app_yaml_subscribes_to_exactly_the_events_the_handlers_act_on() -> None:
    manifest = yaml.safe_load(APP_YAML.read_text(encoding="utf-8"))
    # gidgethub keeps handlers registered with an action in its deep routes, the others in its shallow.
    handled = set(router._shallow_routes) | set(router._deep_routes)
    assert sorted(manifest["default_events"]) == sorted(handled - ACCESS_EVENTS)
    assert handled >= ACCESS_EVENTS  # GitHub sends these to every App unasked; the bot acts on them
