"""Constants and small helpers shared by the inference-server tests."""

from __future__ import annotations

import time

MODEL = "gemma3:270m"
# Greedy and short: fast and deterministic.
GREEDY = {"temperature": 0, "num_predict": 12}
FEW_SHOT = (
    "Text: teh cat sat on teh mat.\nCorrected: The cat sat on the mat.\n\n"
    "Text: i has two apple.\nCorrected: I have two apples.\n\n"
    "Text: she go to school yesterday.\nCorrected:"
)


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.05):
    """Poll ``predicate`` until it is truthy or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
