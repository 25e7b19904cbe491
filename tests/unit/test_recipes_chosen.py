"""Which recipes a run builds: the ones named, or for 'auto' the default alone and every recipe with --search."""

import pytest

from harness.settings.parsers import parse_recipes
from harness.variants.recipes import DEFAULT_RECIPE, RECIPES, chosen


def test_auto_is_the_default_alone_and_every_recipe_with_search():
    assert parse_recipes("auto", tuple(RECIPES)) is None
    assert chosen(None, search=False) == (DEFAULT_RECIPE,)
    assert chosen(None, search=True) == tuple(RECIPES) and len(RECIPES) > 1


def test_named_recipes_win_over_auto_with_or_without_search():
    named = parse_recipes("default,kquant", tuple(RECIPES))
    assert chosen(named, search=True) == chosen(named, search=False) == ("default", "kquant")
    with pytest.raises(ValueError, match="unknown recipe 'q4km'"):
        parse_recipes("default,q4km", tuple(RECIPES))
