"""The Voice page in a real browser: hotkeys/microphone/model settings, and the microphone test
recording real speech from a virtual microphone (a private PulseAudio server fed by espeak-ng)
with the level meter and the transcript, while nothing is written to disk."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import numpy as np
import pytest
from playwright.sync_api import expect
from settings_helpers import REPO_ROOT, screenshot, submit

from assistant import paths

# The voice area's private PulseAudio rig (tests/voice/pulse_rig.py).
sys.path.insert(0, str(REPO_ROOT / "tests" / "voice"))
from pulse_rig import PulseRig, reinit_portaudio  # noqa: E402

pytestmark = pytest.mark.browser


def user_voice() -> dict:
    path = paths.config_file()
    return tomllib.loads(path.read_text()).get("voice", {}) if path.exists() else {}


def test_voice_settings_are_validated_and_saved(settings_server, page):
    page.goto(settings_server.url_for("/voice"))
    page.fill("#dictate_hotkey", "<ctrl>++<alt>+")
    page.click("#voice-form button[type=submit]")
    expect(page.locator("#voice-form .alert")).to_contain_text("Dictation key")
    assert user_voice() == {}
    page.fill("#dictate_hotkey", "<ctrl>+<alt>+c")  # the same as the command key
    page.click("#voice-form button[type=submit]")
    expect(page.locator("#voice-form .alert")).to_contain_text("must differ")
    page.fill("#dictate_hotkey", "<f9>")
    page.fill("#model_path", "/nonexistent/whisper")
    page.click("#voice-form button[type=submit]")
    expect(page.locator("#voice-form .alert")).to_contain_text("not a CTranslate2 Whisper model")
    assert user_voice() == {}
    page.fill("#model_path", "")
    page.fill("#vocabulary", "Kubernetes\nhushtype\n")
    page.uncheck("input[name=remove_fillers]")
    submit(page, "#voice-form button[type=submit]")
    assert page.locator(".notice").inner_text().startswith("Saved")
    voice = user_voice()
    assert voice["dictate_hotkey"] == "<f9>" and voice["command_hotkey"] == "<ctrl>+<alt>+c"
    assert voice["vocabulary"] == ["Kubernetes", "hushtype"] and voice["remove_fillers"] is False
    assert page.locator("#dictate_hotkey").input_value() == "<f9>"


def test_voice_tab_offers_the_whisper_model_choice(settings_server, page):
    page.goto(settings_server.url_for("/voice"))
    options = page.locator("#model option").all_inner_texts()
    assert [o.split(":")[0] for o in options[:2]] == ["tiny.en", "base"], options
    assert page.locator("#model").input_value() == "tiny.en"  # the default
    page.select_option("#model", "tiny.en")
    page.fill("#language", "de")
    page.click("#voice-form button[type=submit]")
    expect(page.locator("#voice-form .alert")).to_contain_text("tiny.en knows English only")
    assert user_voice() == {}
    page.select_option("#model", "folder")
    page.fill("#language", "auto")
    page.click("#voice-form button[type=submit]")
    expect(page.locator("#voice-form .alert")).to_contain_text("enter the folder")
    assert user_voice() == {}
    page.select_option("#model", "base")
    submit(page, "#voice-form button[type=submit]")
    assert page.locator(".notice").inner_text().startswith("Saved")
    voice = user_voice()
    assert voice["model"] == "base" and voice["language"] == "auto" and voice["model_path"] == ""
    assert page.locator("#model").input_value() == "base"  # shown again after the reload
    from assistant.voice.settings import engine_from_settings

    from assistant.config import load_settings

    engine = engine_from_settings(load_settings()["voice"])  # what `hushtype up` now builds
    assert engine.model_name == "base" and engine.language is None
    # a model folder given in the folder field wins, and is shown as the folder choice
    folder = str(engine.model_path)
    page.fill("#model_path", folder)
    submit(page, "#voice-form button[type=submit]")
    assert user_voice()["model"] == folder
    assert page.locator("#model").input_value() == "folder"
    assert page.locator("#model_path").input_value() == folder


@pytest.fixture
def virtual_mic(tmp_path_factory, monkeypatch):
    why = PulseRig.available()
    if why:
        pytest.skip(f"no PulseAudio rig: {why}")
    rig = PulseRig(tmp_path_factory.mktemp("pulse")).start()
    for key, value in rig.env.items():
        monkeypatch.setenv(key, value)
    reinit_portaudio()
    yield rig
    rig.stop()
    monkeypatch.undo()
    reinit_portaudio()


def espeak_audio(text: str, path) -> np.ndarray:
    from assistant.voice.transcriber import load_audio_file

    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, timeout=60)
    return load_audio_file(path)


@pytest.mark.audio
def test_microphone_test_shows_the_level_and_the_transcript_and_stores_nothing(settings_server, page,
                                                                                 virtual_mic, tmp_path):
    speech = espeak_audio("Please send the quarterly report to the finance team.", tmp_path / "s.wav")
    before = sorted(p.name for p in paths.data_dir().rglob("*"))
    page.goto(settings_server.url_for("/voice"))
    options = page.locator("#device option").all_inner_texts()
    assert options[0] == "System default" and len(options) > 1, options  # the rig's inputs are listed
    page.fill("#test-seconds", "6")
    page.click("#voice-test-run")
    expect(page.locator("#voice-test-status")).to_contain_text("Recording", timeout=20_000)
    player = virtual_mic.play(speech)
    widths = []
    for _ in range(40):  # the meter moves while the speech plays
        widths.append(page.evaluate("parseFloat(document.getElementById('meter-fill').style.width) || 0"))
        page.wait_for_timeout(100)
    player.wait(timeout=60)
    assert max(widths) > 30, widths
    expect(page.locator("#voice-test-transcript")).to_be_visible(timeout=60_000)
    transcript = page.locator("#voice-test-transcript").inner_text().lower()
    # espeak-ng is robotic ("finance team" may come out otherwise): the clear words must be there
    assert "please send the quarterly report" in transcript, transcript
    screenshot(page, "voice")
    after = sorted(p.name for p in paths.data_dir().rglob("*"))
    assert after == before, "the test recording must not write anything to the data folder"
    assert not page.js_errors
