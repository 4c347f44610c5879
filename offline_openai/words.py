"""Content words: the words of a text that say what it is about (no stop words, crude stems)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_STOP_TEXT = """
    a about after again all also am an and any are as at be been before being but by can could
    did do does doing done for from get gets give had has have having he her here hers him his
    how i if in into is it its just know let like look looks make me more most my need no not
    now of off on one only or other our out over please same see she should show so some such
    tell than thank thanks that the their them then there these they this those to too up use
    using very want was we were what when where which while who whom why will with would you
    your yours hello hi hey current currently given new
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


def content_words(text: str) -> set[str]:
    """Lower-case stems of the words that are not stop words ("Look up orders" → {"order"});
    names in snake_case or camelCase count as their parts."""
    words = _WORD.findall(_CAMEL.sub(" ", text.replace("_", " ")))
    return {_stem(word.lower()) for word in words if len(word) > 2} - _STOP_WORDS


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word
