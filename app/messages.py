"""What a view tells the user after an action: a flash message in one of two categories.

'success' says what was done; 'error' (any other category reads as one) says why nothing was.
`refusals()` turns a domain refusal (HemonError, already a Chinese sentence) into an error
message, so a view can run its action, flash its success and fall through to one redirect.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import flash

from etl.common.errors import HemonError


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Flash a HemonError raised inside the block as an error and carry on after it."""
    try:
        yield
    except HemonError as exc:
        flash(str(exc), "error")
