"""What each platform backend can see, in words for the Privacy tab (pure)."""

from __future__ import annotations

BACKEND_SEES = {
    "x11": ("every key typed into any app (X RECORD) and the focused window's class; keys are only "
            "matched against your command prefixes, never stored or logged. X11 cannot tell password "
            "fields apart: add password managers to the list below."),
    "ibus": ("the keys typed into the focused text field while hushtype is the input method, and the "
             "field's purpose: password and PIN fields are never read. Apps without input-method "
             "support (and terminals that take keys raw) are not seen."),
    "wayland": ("no keys and no window names (voice only): it hears the microphone only between "
                "`hushtype voice start` and `stop`, and types the transcript with wtype or leaves it "
                "on the clipboard."),
    "none": "nothing: without a desktop session there are no keys, windows or clipboard to see.",
}


def backend_rows(current: str | None) -> list[dict]:
    """One row per backend (name, what it sees, whether it is the one in use)."""
    return [{"name": name, "sees": sees, "current": name == current}
            for name, sees in BACKEND_SEES.items()]
