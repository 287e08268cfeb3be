"""Tasks of the waiting room: they call one function."""

from waitingroom.services import queue_ticker as _ticker


def queue_ticker() -> int:
    """Scheduled every minute (migration waitingroom 0002): ticks every few seconds for most of
    that minute, so admissions advance within seconds without a scheduler finer than a minute.
    One runs at a time (an advisory lock); a second one started meanwhile returns at once."""
    return _ticker(seconds=55)
