"""The coach, composed of one module per feature; :class:`Coach` is the entry point every platform
and the delivery call."""
from bot.coach.base import Caller
from bot.coach.coach import Coach

__all__ = ["Caller", "Coach"]
