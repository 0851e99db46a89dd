"""Plain-English intents: pure parsing (standard library and text2num only; no Django).

`parse(text, today=date)` names one intent and its arguments, or `unknown` with what it understood: it never
guesses at an action that moves money."""
from assistant.intents.parser import INTENTS, MONEY_MOVING, Intent, parse

__all__ = ["INTENTS", "MONEY_MOVING", "Intent", "parse"]
