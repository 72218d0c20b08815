"""Answers to the bot's order questions that used to make a wrong ticket or a dead end:
packs counted in pieces, items and options that are out, short answers, corrections."""

from __future__ import annotations

from datetime import datetime

from agi.catalog import Catalog, load_catalog
from agi.playbook import load_playbook
from agi.simulate import Script, ScriptCaller, TextCall

from .test_misheard import ROOT, call, state


def lines(c: TextCall) -> list[tuple]:
    return [(line.catalog_id, line.variation_id, line.quantity,
             sorted((m.catalog_id, m.qualifier.value) for m in line.modifiers)) for line in state(c).lines]


# ------------------------------------------------------------------ packs


def test_a_count_that_is_no_whole_number_of_packs_is_asked():
    c = call("pizzeria")
    bot = c.say("half a dozen wings with garlic parmesan for pickup")
    assert bot.startswith("Chicken wings: 10 to an order.") and bot.endswith("How many orders would you like?")
    c.say("oh, one order then")
    assert lines(c) == [("wings", None, 1, [("sauce-garlic", "normal")])]


def test_a_count_in_pieces_that_divides_is_rung_up_in_packs_without_asking():
    c = call("pizzeria")
    bot = c.say("twenty wings, barbecue, and a medium cheese pizza")
    assert "How many" not in bot
    assert lines(c) == [("wings", None, 2, [("sauce-bbq", "normal")]), ("pizza-cheese", "size-medium", 1, [])]


def test_the_packs_question_in_spanish_takes_una_orden():
    c = call("pizzeria")
    c.controller.engine.state.language = "es"
    bot = c.say("media docena de alitas de pollo")
    assert "vienen 10 por orden" in bot
    c.say("una orden")
    assert lines(c) == [("wings", None, 1, [])]


# ------------------------------------------------------------------ something is out


def test_just_the_item_already_ordered_keeps_one_line():
    c = call("retail")
    assert "Would you like ice melt instead?" in c.say("a padlock and a snow shovel")
    c.say("just the padlock then")
    assert lines(c) == [("padlock", None, 1, [])]


def test_another_item_instead_keeps_the_size_said():
    c = call("pizzeria")
    assert "Would you like veggie pizza instead?" in c.say("a medium hawaiian for pickup")
    c.say("no, make it a pepperoni instead")
    assert lines(c) == [("pizza-pepperoni", "pep-medium", 1, [])]


def test_the_alternative_keeps_the_options_said():
    c = call("cafe", at=datetime(2026, 11, 20, 9, 0))
    assert "Would you like chai latte instead?" in c.say("can I get an iced matcha latte")
    c.say("sure")
    assert lines(c) == [("chai-latte", "chai-medium", 1, [("temp-iced", "normal")])]


def test_an_option_named_after_one_is_out_goes_on_the_line():
    c = call("taqueria")
    assert "Would you still like 1 burrito?" in c.say("a barbacoa burrito for pickup")
    c.say("the steak then")
    assert lines(c) == [("burrito", None, 1, [("fill-asada", "normal")])]


def test_a_chinese_short_form_names_the_option():
    c = call("taqueria")
    c.controller.engine.state.language = "zh"
    c.say("我要一个慢炖牛肉卷饼，自取")
    c.say("那就鸡肉吧")
    assert lines(c) == [("burrito", None, 1, [("fill-pollo", "normal")])]


def test_an_offer_taken_with_its_own_name_is_added_once():
    c = call("pizzeria")
    c.say("a large cheese pizza for pickup")
    assert "coke" in c.say("that's all")
    c.say("sure, add a coke")
    assert lines(c) == [("pizza-cheese", "size-large", 1, []), ("coke", None, 1, [])]


def test_an_offer_taken_with_something_else_adds_both():
    c = call("pizzeria")
    c.say("a large cheese pizza for pickup")
    c.say("that's all")
    c.say("sure, and a caesar salad")
    assert [line[0] for line in lines(c)] == ["pizza-cheese", "coke", "caesar-salad"]


# ------------------------------------------------------------------ corrections


def test_taking_off_an_added_option_leaves_no_no_line():
    c = call("cafe", at=datetime(2026, 11, 20, 9, 0))
    c.say("a hot chocolate with whipped cream and a cinnamon roll")
    c.say("actually take off the whipped cream")
    assert lines(c)[0] == ("hot-chocolate", "hc-medium", 1, [])


def test_no_oat_milk_just_regular_milk_sets_the_milk():
    c = call("cafe", at=datetime(2026, 11, 20, 9, 0))
    c.say("can I get a medium latte with oat milk")
    c.say("actually no oat milk, just regular milk")
    assert lines(c) == [("latte", "latte-medium", 1, [("milk-whole", "normal")])]


def test_refusing_an_option_that_comes_unless_refused_is_kept():
    c = call("taqueria")
    c.say("a chicken bowl")
    c.say("actually no cheese on that")
    assert lines(c) == [("bowl", None, 1, [("fill-pollo", "normal"), ("top-cheese", "no")])]


# ------------------------------------------------------------------ short answers


def test_a_short_spanish_answer_picks_the_size():
    c = call("retail", at=datetime(2026, 11, 20, 10, 0))
    c.controller.engine.state.language = "es"
    assert "de seis pies o de veinticinco pies" in c.say("necesito dos extensiones eléctricas")
    c.say("las cortas")
    assert lines(c) == [("extension-cord", "cord-6ft", 2, [])]


def _candles_with_two_sea_scents() -> Catalog:
    data = load_catalog(ROOT / "playbooks" / "catalogs" / "retail.yaml").model_dump()
    scents = next(g for g in data["modifier_groups"] if g["id"] == "candle-scent")
    for option in scents["options"]:
        option["default"] = False
    scents["options"].insert(3, {**scents["options"][2], "id": "scent-sea-breeze", "name": "sea breeze",
                                 "names": {}, "synonyms": []})
    return Catalog.model_validate(data)


def test_a_word_two_options_share_asks_between_those_two():
    loaded = load_playbook(ROOT / "playbooks" / "retail.yaml", catalog=_candles_with_two_sea_scents())
    c = TextCall(loaded, Script(caller=ScriptCaller(number="+15551234567", language="en"),
                                at=datetime(2026, 11, 20, 10, 0)), lambda ticket, key: None)
    assert "lavender, vanilla, sea salt, sea breeze or balsam fir?" in c.say("a small candle please")
    assert c.say("the sea one").endswith("Which scent would you like on the soy candle: sea salt or sea breeze?")
    c.say("breeze")
    assert lines(c) == [("candle", "candle-small", 1, [("scent-sea-breeze", "normal")])]


def test_thats_all_to_which_one_moves_on():
    c = call("pizzeria")
    assert c.say("a large pizza with mushrooms").startswith("Which one would you like")
    bot = c.say("that's all")
    assert not bot.startswith("Sorry") and state(c).misunderstandings == 0


def test_que_sea_uno_makes_it_one():
    c = call("taqueria")
    c.controller.engine.state.language = "es"
    c.say("dos burritos california")
    c.say("mejor que sea uno")
    assert lines(c) == [("california-burrito", None, 1, [])]


def test_an_answer_not_understood_asks_the_size_again():
    c = call("retail", at=datetime(2026, 11, 20, 10, 0))
    asked = c.say("an extension cord")
    again = c.say("hmm let me think")
    assert again.startswith("Sorry") and again.endswith(asked.split(". ")[-1])


def test_a_number_given_instead_of_the_caller_id_is_taken():
    c = call("retail", at=datetime(2026, 11, 20, 10, 0))
    for said in ("a padlock please", "that's it", "at ten thirty", "Victor"):
        c.say(said)
    assert "best number to reach you?" in c.turns[-1]["bot"]
    bot = c.say("no, better to call my cell, 802 555 0199")
    assert "Shall I place the order?" in bot
    assert state(c).slots["phone"] == "+18025550199"


def test_a_count_changed_in_pieces_is_counted_in_packs():
    c = call("pizzeria")
    c.say("ten wings")
    c.say("actually make it twenty wings")
    assert lines(c) == [("wings", None, 2, [])]
    assert c.say("make it fifteen wings").endswith("How many orders would you like?")
