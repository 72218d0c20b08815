"""Hot reload: the next call gets the edit, the running call keeps its version,
and a broken edit is refused while the previous Playbook keeps serving."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest

from agi.registry import PlaybookRegistry
from agi.simulate import Script, TextCall, run_script

OLD_GREETING = "Thanks for calling Tony's Pizzeria. What can I get for you?"
NEW_GREETING = "Tony's Pizzeria, open late tonight. What would you like?"


def _say_all(call: TextCall, script: Script) -> dict:
    for text in script.say:
        if call.finished:
            break
        call.say(text)
    call.hang_up()
    return call.result()


def test_reload_mid_call_keeps_running_call_on_old_playbook(pb_dir: Path, committer, pizza_order, edit):
    registry = PlaybookRegistry(pb_dir)
    running = TextCall(registry.get("pizzeria"), pizza_order, committer)
    assert running.turns[0]["bot"] == OLD_GREETING
    running.say(pizza_order.say[0])

    # The owner changes the greeting and the price of a large pepperoni mid-call.
    edit(pb_dir / "pizzeria.yaml", OLD_GREETING, NEW_GREETING)
    edit(pb_dir / "catalogs" / "pizzeria.yaml", "{id: pep-large, name: large, names: {es: grande, zh: 大}, price: 1699}",
         "{id: pep-large, name: large, names: {es: grande, zh: 大}, price: 1899}")
    changes = registry.check()
    assert [(c.name, c.action) for c in changes] == [("pizzeria", "reloaded")]

    for text in pizza_order.say[1:]:
        running.say(text)
    old = running.result()
    assert old["outcome"] == "committed"
    assert old["ticket"]["items"][0]["unit_price_minor"] == 1699
    assert old["ticket"]["total_minor"] == 2 * 1699

    new = run_script(registry.get("pizzeria"), pizza_order, committer)
    assert new["turns"][0]["bot"] == NEW_GREETING
    assert new["outcome"] == "committed"
    assert new["ticket"]["items"][0]["unit_price_minor"] == 1899
    assert new["ticket"]["total_minor"] == 2 * 1899


def test_broken_edit_is_refused_and_old_version_keeps_serving(pb_dir: Path, committer, pizza_order, edit, caplog):
    registry = PlaybookRegistry(pb_dir)
    before = registry.get("pizzeria")
    # A typo in the upsell: the offered item does not exist in the catalog.
    edit(pb_dir / "pizzeria.yaml", "offer: coke", "offer: cokee")
    with caplog.at_level(logging.ERROR, logger="callticket.registry"):
        changes = registry.check()
    assert [(c.name, c.action) for c in changes] == [("pizzeria", "refused")]
    problem = changes[0].problems[0]
    assert problem.file.endswith("pizzeria.yaml") and problem.line > 0
    assert str(problem).endswith("upsell[0].offer: unknown catalog item 'cokee'")
    assert any("unknown catalog item 'cokee'" in r.getMessage() for r in caplog.records)
    assert "pizzeria" in registry.errors

    assert registry.get("pizzeria") is before
    result = run_script(registry.get("pizzeria"), pizza_order, committer)
    assert result["outcome"] == "committed"
    # Unchanged files are not retried on every pass.
    assert registry.check() == []

    edit(pb_dir / "pizzeria.yaml", "offer: cokee", "offer: coke")
    registry.check()
    assert "pizzeria" not in registry.errors


def test_broken_catalog_edit_is_refused_with_catalog_line(pb_dir: Path, edit):
    registry = PlaybookRegistry(pb_dir)
    before = registry.get("pizzeria")
    edit(pb_dir / "catalogs" / "pizzeria.yaml", "price: 1699", "price: sixteen")
    changes = registry.check()
    assert [(c.name, c.action) for c in changes] == [("pizzeria", "refused")]
    problem = changes[0].problems[0]
    assert problem.file.endswith(os.path.join("catalogs", "pizzeria.yaml"))
    lines = (pb_dir / "catalogs" / "pizzeria.yaml").read_text().splitlines()
    assert "price: sixteen" in lines[problem.line - 1]
    assert registry.get("pizzeria") is before


def test_yaml_syntax_error_is_refused(pb_dir: Path, edit):
    registry = PlaybookRegistry(pb_dir)
    before = registry.get("cafe")
    edit(pb_dir / "cafe.yaml", "business:", "business: [")
    (change,) = registry.check()
    assert change.action == "refused" and change.problems[0].field == "<yaml>"
    assert registry.get("cafe") is before


def test_touch_without_change_keeps_the_same_objects(pb_dir: Path, edit):
    registry = PlaybookRegistry(pb_dir)
    before = registry.get("pizzeria")
    edit(pb_dir / "pizzeria.yaml", "Tony", "Tony")
    assert registry.check() == []
    assert registry.get("pizzeria") is before


def test_new_and_deleted_playbooks(pb_dir: Path):
    registry = PlaybookRegistry(pb_dir)
    assert registry.names == ["cafe", "pizzeria"]
    text = (pb_dir / "cafe.yaml").read_text().replace("id: cafe", "id: cafe-two", 1)
    (pb_dir / "cafe2.yaml").write_text(text)
    (pb_dir / "pizzeria.yaml").unlink()
    changes = {(c.name, c.action) for c in registry.check()}
    assert changes == {("cafe2", "loaded"), ("pizzeria", "removed")}
    assert registry.get("pizzeria") is None
    assert registry.get("cafe-two").id == "cafe-two"


def test_routes_dnid_and_default(pb_dir: Path):
    registry = PlaybookRegistry(pb_dir, routes={"+1 (555) 010-0200": "pizzeria", "coffee": "cafe"}, default="cafe")
    assert registry.get("pizzeria").id == "pizzeria"
    assert registry.get("coffee").id == "cafe"
    assert registry.get("main-line", dnid="15550100200").id == "pizzeria"
    assert registry.get("unknown-route").id == "cafe"
    assert PlaybookRegistry(pb_dir).get("unknown-route") is None


def test_watch_thread_picks_up_an_edit(pb_dir: Path, edit):
    registry = PlaybookRegistry(pb_dir, poll_s=0.05)
    registry.start()
    try:
        edit(pb_dir / "pizzeria.yaml", OLD_GREETING, NEW_GREETING)
        deadline = time.monotonic() + 10
        while registry.get("pizzeria").playbook.greeting.en != NEW_GREETING:
            assert time.monotonic() < deadline, "the watch thread did not reload the edit"
            time.sleep(0.05)
    finally:
        registry.stop()


def test_sighup_reloads(pb_dir: Path):
    registry = PlaybookRegistry(pb_dir, poll_s=3600)  # no polling: only the signal can reload
    previous = signal.getsignal(signal.SIGHUP)
    registry.install_sighup()
    try:
        path = pb_dir / "pizzeria.yaml"
        path.write_text(path.read_text().replace(OLD_GREETING, NEW_GREETING))
        assert registry.get("pizzeria").playbook.greeting.en == OLD_GREETING
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.01)  # the handler runs between bytecodes of the main thread
        assert registry.get("pizzeria").playbook.greeting.en == NEW_GREETING
    finally:
        signal.signal(signal.SIGHUP, previous)
