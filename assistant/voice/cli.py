"""`hushtype transcribe FILE`, `hushtype devices` and `hushtype voice start|stop|toggle`."""

from __future__ import annotations

from pathlib import Path

import typer


def _voice_settings() -> dict:
    from assistant.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        typer.echo(f"warning: {exc}; using the defaults", err=True)
        settings = exc.settings or {}
    return settings.get("voice", {})


def register(app: typer.Typer) -> None:
    @app.command("transcribe")
    def transcribe(
        file: Path = typer.Argument(..., help="An audio or video file (any format ffmpeg reads)."),
        model: str = typer.Option(None, "--model", help="CTranslate2 Whisper model directory (default: the voice settings' model_path, else the embedded tiny.en)."),
        raw: bool = typer.Option(False, "--raw", help="Print Whisper's text without clean-up (no filler removal)."),
        stats: bool = typer.Option(False, "--stats", help="Print timings to stderr."),
    ) -> None:
        """Print the transcript of an audio file (same VAD + Whisper path as push-to-talk)."""
        from assistant.voice.cleanup import clean_transcript
        from assistant.voice.engine import ModelError
        from assistant.voice.settings import engine_from_settings, vad_from_settings
        from assistant.voice.transcriber import load_audio_file, transcribe_audio

        if not file.is_file():
            typer.echo(f"error: no such file: {file}", err=True)
            raise typer.Exit(2)
        voice = _voice_settings()
        try:
            audio = load_audio_file(file)
        except Exception as exc:  # PyAV raises its own error types for undecodable input
            typer.echo(f"error: cannot decode {file} as audio: {exc}", err=True)
            raise typer.Exit(1)
        try:
            engine = engine_from_settings(voice, model_path=model)
            result = transcribe_audio(engine, audio, vad=vad_from_settings(voice),
                                      vocabulary=voice.get("vocabulary", []))
        except ModelError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1)
        text = result.text if raw else clean_transcript(
            result.text, remove_filler_words=bool(voice.get("remove_fillers", True)),
            vocabulary=voice.get("vocabulary", []))
        if stats:
            rtf = result.finish_seconds / result.audio_seconds if result.audio_seconds else 0.0
            typer.echo(f"audio {result.audio_seconds:.2f}s, speech {result.speech_seconds:.2f}s, "
                       f"transcribed in {result.finish_seconds:.2f}s (real-time factor {rtf:.3f}), "
                       f"model loaded in {engine.load_seconds or 0:.2f}s", err=True)
        if not text:
            typer.echo(f"no speech found in {file}", err=True)
            return
        typer.echo(text)

    @app.command("devices")
    def devices() -> None:
        """List the audio input devices (put an index or name in the voice settings' device)."""
        from assistant.voice.capture import CaptureError, list_input_devices

        try:
            found = list_input_devices()
        except CaptureError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1)
        if not found:
            typer.echo("no audio input devices found")
            return
        for d in found:
            mark = "*" if d["default"] else " "
            typer.echo(f"{mark} {d['index']:>3}  {d['name']}  ({d['hostapi']}, {d['channels']} ch, "
                       f"{int(d['default_samplerate'])} Hz)")
        typer.echo("* = system default; set `device` in the [voice] settings to an index or a name")

    voice_app = typer.Typer(help="Control push-to-talk of the running assistant (bind these to "
                                 "desktop shortcuts on Wayland).", no_args_is_help=True)

    def _send(action: str, command: bool) -> None:
        from assistant.service.control import ControlError, request

        try:
            reply = request({"voice": action, "mode": "command" if command else "dictate"})
        except ControlError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1)
        if not reply.get("ok"):
            typer.echo(f"error: {reply.get('error', 'refused')}", err=True)
            raise typer.Exit(1)
        typer.echo("recording" if reply.get("recording") else "stopped")

    command_opt = typer.Option(False, "--command", help="A spoken command (fix ..., sum ...) instead of dictation.")

    @voice_app.command("start")
    def voice_start(command: bool = command_opt) -> None:
        """Start recording (like holding the push-to-talk key)."""
        _send("start", command)

    @voice_app.command("stop")
    def voice_stop(command: bool = command_opt) -> None:
        """Stop recording: the words are inserted into the focused app."""
        _send("stop", command)

    @voice_app.command("toggle")
    def voice_toggle(command: bool = command_opt) -> None:
        """Start recording, or stop it when one runs (one shortcut for both)."""
        _send("toggle", command)

    app.add_typer(voice_app, name="voice")
