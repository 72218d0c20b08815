"""Small, realistic catalogs for the order parser tests: a pizzeria and a taqueria.

Each has names in Spanish and Chinese, synonyms, sizes, one-choice and
many-choice option groups with defaults, a nested group, and things 86'd
(available: false) at every level: item, size and option.
"""

from __future__ import annotations

import pytest

from agi.catalog import Catalog, catalog_from_data


def _opt(id_, name, es=None, zh=None, syn=(), price=0, default=False, available=True, groups=()):
    names = {k: v for k, v in (("es", es), ("zh", zh)) if v}
    return {"id": id_, "name": name, "names": names, "synonyms": list(syn), "price_delta": price,
            "default": default, "available": available, "groups": list(groups)}


PIZZERIA = {
    "currency": "USD",
    "modifier_groups": [
        {"id": "crust", "name": "crust", "names": {"es": "masa", "zh": "饼底"}, "min": 1, "max": 1, "options": [
            _opt("crust-hand", "hand tossed", es="tradicional", zh="手抛饼底", default=True),
            _opt("crust-thin", "thin crust", es="masa delgada", zh="薄饼底", syn=["thin"]),
            _opt("crust-gf", "gluten free crust", es="sin gluten", zh="无麸质饼底", available=False),
        ]},
        {"id": "toppings", "name": "toppings", "names": {"es": "ingredientes", "zh": "配料"}, "max": 10, "options": [
            _opt("top-pepperoni", "pepperoni", es="pepperoni", zh="意大利辣香肠", price=150),
            _opt("top-sausage", "sausage", es="salchicha", zh="香肠", syn=["italian sausage"], price=150),
            _opt("top-mushrooms", "mushrooms", es="champiñones", zh="蘑菇", price=100),
            _opt("top-onions", "onions", es="cebolla", zh="洋葱", price=100),
            _opt("top-peppers", "green peppers", es="pimientos", zh="青椒", syn=["bell peppers", "peppers"], price=100),
            _opt("top-olives", "black olives", es="aceitunas", zh="橄榄", syn=["olives"], price=100),
            _opt("top-ham", "ham", es="jamón", zh="火腿", price=150),
            _opt("top-pineapple", "pineapple", es="piña", zh="菠萝", price=100),
            _opt("top-jalapenos", "jalapenos", es="jalapeños", zh="墨西哥辣椒", price=100),
            _opt("top-cheese", "cheese", es="queso", zh="奶酪", syn=["mozzarella"], price=125, default=True),
            _opt("top-anchovies", "anchovies", es="anchoas", zh="凤尾鱼", price=150, available=False),
        ]},
        {"id": "wing-sauce", "name": "wing sauce", "min": 1, "max": 1, "options": [
            _opt("sauce-buffalo", "buffalo", default=True),
            _opt("sauce-bbq", "bbq", syn=["barbecue"]),
            _opt("sauce-garlic", "garlic parmesan"),
        ]},
        {"id": "dip", "name": "dip", "max": 2, "options": [
            _opt("dip-ranch", "ranch", price=75),
            _opt("dip-blue", "blue cheese", price=75),
        ]},
        {"id": "soda-size", "name": "soda size", "min": 1, "max": 1, "options": [
            _opt("soda-can", "can", default=True),
            _opt("soda-2l", "two liter", syn=["2 liter", "bottle"], price=200),
        ]},
    ],
    "items": [
        {"id": "pizza", "name": "pizza", "names": {"es": "pizza", "zh": "披萨"}, "synonyms": ["pie"],
         "category": "pizzas", "modifier_groups": ["crust", "toppings"],
         "variations": [
             {"id": "pizza-small", "name": "small", "names": {"es": "pequeña", "zh": "小号"}, "price": 1099},
             {"id": "pizza-medium", "name": "medium", "names": {"es": "mediana", "zh": "中号"}, "price": 1299},
             {"id": "pizza-large", "name": "large", "names": {"es": "grande", "zh": "大号"}, "price": 1499},
             {"id": "pizza-party", "name": "party size", "synonyms": ["party"], "price": 2499, "available": False},
         ]},
        {"id": "wings", "name": "chicken wings", "names": {"es": "alitas", "zh": "鸡翅"}, "synonyms": ["wings"],
         "category": "sides", "price": 999, "modifier_groups": ["wing-sauce", "dip"]},
        {"id": "knots", "name": "garlic knots", "names": {"es": "nudos de ajo", "zh": "蒜香面包结"},
         "category": "sides", "price": 599},
        {"id": "calzone", "name": "calzone", "names": {"es": "calzone", "zh": "意式馅饼"}, "category": "pizzas",
         "price": 1199, "available": False},
        {"id": "coke", "name": "coke", "names": {"es": "coca cola", "zh": "可乐"}, "synonyms": ["coca cola"],
         "category": "drinks", "price": 250, "modifier_groups": ["soda-size"]},
        {"id": "sprite", "name": "sprite", "names": {"es": "sprite", "zh": "雪碧"}, "category": "drinks",
         "price": 250, "modifier_groups": ["soda-size"]},
    ],
}

TAQUERIA = {
    "currency": "USD",
    "modifier_groups": [
        {"id": "filling", "name": "filling", "names": {"es": "relleno", "zh": "馅料"}, "min": 1, "max": 1, "options": [
            _opt("fill-chicken", "chicken", es="pollo", zh="鸡肉", default=True),
            _opt("fill-carnitas", "carnitas", es="carnitas", zh="手撕猪肉", syn=["pork"]),
            _opt("fill-asada", "carne asada", es="carne asada", zh="烤牛肉", syn=["steak", "asada"], price=150),
            _opt("fill-pastor", "al pastor", es="al pastor", zh="菠萝烤猪肉", syn=["pastor"]),
            _opt("fill-barbacoa", "barbacoa", es="barbacoa", zh="慢炖牛肉", price=150, available=False),
        ]},
        {"id": "base", "name": "rice", "names": {"es": "arroz", "zh": "米饭"}, "max": 1, "options": [
            _opt("base-white", "white rice", es="arroz blanco", zh="白米饭", default=True),
            _opt("base-brown", "brown rice", es="arroz integral", zh="糙米饭"),
            _opt("base-lettuce", "lettuce", es="lechuga", zh="生菜"),
        ]},
        {"id": "beans", "name": "beans", "names": {"es": "frijoles", "zh": "豆子"}, "max": 1, "options": [
            _opt("beans-black", "black beans", es="frijoles negros", zh="黑豆", default=True),
            _opt("beans-pinto", "pinto beans", es="frijoles pintos", zh="斑豆"),
        ]},
        {"id": "salsa", "name": "salsa", "max": 3, "options": [
            _opt("salsa-pico", "pico de gallo", es="pico de gallo", zh="番茄莎莎", syn=["mild salsa", "pico"]),
            _opt("salsa-verde", "salsa verde", es="salsa verde", zh="青酱", syn=["green salsa"]),
            _opt("salsa-roja", "salsa roja", es="salsa roja", zh="红辣酱", syn=["red salsa", "hot salsa"]),
        ]},
        {"id": "extras", "name": "extras", "max": 6, "options": [
            _opt("x-cheese", "cheese", es="queso", zh="奶酪", default=True),
            _opt("x-sour-cream", "sour cream", es="crema", zh="酸奶油"),
            _opt("x-guac", "guacamole", es="guacamole", zh="鳄梨酱", syn=["guac"], price=225),
            _opt("x-onions", "onions", es="cebolla", zh="洋葱"),
        ]},
        {"id": "meal", "name": "make it a meal", "max": 1, "options": [
            _opt("meal-yes", "meal", es="combo", zh="套餐", syn=["combo"], price=300, groups=["meal-drink"]),
        ]},
        {"id": "meal-drink", "name": "meal drink", "max": 1, "options": [
            _opt("meal-horchata", "horchata", es="horchata", zh="米浆"),
            _opt("meal-jamaica", "jamaica", es="agua de jamaica", zh="洛神花茶", syn=["hibiscus"]),
        ]},
    ],
    "items": [
        {"id": "burrito", "name": "burrito", "names": {"es": "burrito", "zh": "墨西哥卷饼"}, "category": "burritos",
         "price": 1099, "modifier_groups": ["filling", "base", "beans", "salsa", "extras", "meal"]},
        {"id": "bowl", "name": "burrito bowl", "names": {"es": "tazón", "zh": "卷饼碗"}, "synonyms": ["bowl"],
         "category": "burritos", "price": 1099, "modifier_groups": ["filling", "base", "beans", "salsa", "extras"]},
        {"id": "taco", "name": "taco", "names": {"es": "taco", "zh": "塔可"}, "synonyms": ["street taco"],
         "category": "tacos", "price": 399, "modifier_groups": ["filling", "salsa", "extras"]},
        {"id": "chips-guac", "name": "chips and guacamole", "names": {"es": "totopos con guacamole"},
         "synonyms": ["chips and guac"], "category": "sides", "price": 599},
        {"id": "horchata", "name": "horchata", "names": {"es": "horchata", "zh": "米浆"}, "category": "drinks",
         "price": 350},
    ],
}


@pytest.fixture(scope="session")
def pizzeria() -> Catalog:
    return catalog_from_data(PIZZERIA)


@pytest.fixture(scope="session")
def taqueria() -> Catalog:
    return catalog_from_data(TAQUERIA)
