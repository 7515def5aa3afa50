"""Short, safe renderings of user-given values for error messages.

An error quotes at most about 80 characters of a value: a 1 MB ``-var``
must not become a 1 MB error line, and a list nested a thousand levels deep
must not be rendered at all.
"""

from __future__ import annotations

MAX_QUOTED = 80


def excerpt(value: object, limit: int = MAX_QUOTED) -> str:
    """``value`` for a message: its repr when short, else a quoted head, an ellipsis and the length.

    Lists and objects are described by their size, never rendered.
    """
    if isinstance(value, str):
        quoted = repr(value)
        if len(quoted) <= limit:
            return quoted
        suffix = f"… ({len(value)} characters)"
        budget = max(limit - len(suffix), 8)
        # Cut the value, not its repr, so that an escape is never split; the
        # head's repr is at most four times its length, so this loop is short.
        size = min(len(value), budget)
        while size > 1 and len(repr(value[:size])) > budget:
            size -= 1
        return repr(value[:size]) + suffix
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        return f"an object of {len(value)} attribute{'' if len(value) == 1 else 's'}"
    try:
        text = str(value)
    except ValueError:  # an int past Python's int-to-str digit limit
        return "a number with too many digits to show"
    if len(text) <= limit:
        return text
    return f"{text[:limit - 30]}… ({len(text)} characters)"
