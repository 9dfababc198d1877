"""Constants and small helpers shared by the inference-server tests."""

from __future__ import annotations

MODEL = "gemma3:270m"
# Greedy and short: fast and deterministic.
GREEDY = {"temperature": 0, "num_predict": 12}
FEW_SHOT = (
    "Text: teh cat sat on teh mat.\nCorrected: The cat sat on the mat.\n\n"
    "Text: i has two apple.\nCorrected: I have two apples.\n\n"
    "Text: she go to school yesterday.\nCorrected:"
)

