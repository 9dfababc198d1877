"""Microphone capture through PortAudio (sounddevice): 16 kHz mono float32 in ~30 ms blocks.

The stream is opened when a recording starts and closed when it stops, so the microphone is
in use only while the push-to-talk key is held. Blocks go to a callback; nothing is written
to disk. A device that cannot record at 16 kHz is opened at its own rate and resampled
(PyAV's resampler, which faster-whisper already depends on).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

SAMPLE_RATE = 16000
BLOCK_MS = 30


class CaptureError(RuntimeError):
    pass


def _sd():
    try:
        import sounddevice
    except OSError as exc:  # libportaudio2 missing
        raise CaptureError(f"PortAudio is not available ({exc}); install libportaudio2") from exc
    return sounddevice


def list_input_devices() -> list[dict]:
    """Every device that can record: index, name, host API, channels, default rate, default."""
    sd = _sd()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise CaptureError(f"cannot list audio devices: {exc}") from exc
    out = []
    for index, dev in enumerate(devices):
        if dev["max_input_channels"] <= 0:
            continue
        out.append({
            "index": index,
            "name": dev["name"],
            "hostapi": hostapis[dev["hostapi"]]["name"],
            "channels": dev["max_input_channels"],
            "default_samplerate": dev["default_samplerate"],
            "default": index == default_in,
        })
    return out


def resolve_device(spec) -> int | None:
    """``""``/None -> None (system default); an index; or a (part of a) device name."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    devices = list_input_devices()
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        if any(d["index"] == index for d in devices):
            return index
        raise CaptureError(f"no input device with index {index}; see `hushtype devices`")
    wanted = str(spec).strip().casefold()
    exact = [d for d in devices if d["name"].casefold() == wanted]
    partial = [d for d in devices if wanted in d["name"].casefold()]
    found = exact or partial
    if not found:
        raise CaptureError(f"no input device named {spec!r}; see `hushtype devices`")
    return found[0]["index"]


def rescan_devices() -> None:
    """Re-initialise PortAudio so that it sees the current devices (no stream may be open)."""
    sd = _sd()
    try:
        sd._terminate()
        sd._initialize()
    except (sd.PortAudioError, AttributeError):
        pass


class _Resampler:
    def __init__(self, rate: int) -> None:
        import av

        self._rate = rate
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        import av

        frame = av.AudioFrame.from_ndarray(block.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
        frame.sample_rate = self._rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


class Microphone:
    """One input stream at a time; ``open(on_block)`` ... ``close()``."""

    def __init__(self, device=None, *, block_ms: int = BLOCK_MS) -> None:
        self.device_spec = device
        self.block_ms = block_ms
        self._stream = None
        self._lock = threading.Lock()
        self.rate: int | None = None
        self.overflows = 0

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def open(self, on_block: Callable[[np.ndarray], None]) -> None:
        try:
            self._open(on_block)
        except CaptureError:
            # PortAudio lists devices once, at start: a microphone plugged in (or a sound
            # server restarted) since then needs a re-scan before it can be found
            rescan_devices()
            self._open(on_block)

    def _open(self, on_block: Callable[[np.ndarray], None]) -> None:
        sd = _sd()
        with self._lock:
            if self._stream is not None:
                raise CaptureError("the microphone is already recording")
            device = resolve_device(self.device_spec)
            stream = None
            last_error: Exception | None = None
            rates = [SAMPLE_RATE]
            try:
                native = int(sd.query_devices(device, "input")["default_samplerate"])
                if native != SAMPLE_RATE:
                    rates.append(native)
            except (sd.PortAudioError, ValueError) as exc:
                raise CaptureError(f"input device {self.device_spec!r} is not usable: {exc}") from exc
            for rate in rates:
                resample = None if rate == SAMPLE_RATE else _Resampler(rate)

                def callback(indata, frames, time_info, status, _resample=resample):
                    if status.input_overflow:
                        self.overflows += 1
                    block = indata[:, 0].copy()
                    on_block(_resample(block) if _resample else block)

                try:
                    stream = sd.InputStream(
                        samplerate=rate, channels=1, dtype="float32", device=device,
                        blocksize=int(rate * self.block_ms / 1000), callback=callback,
                    )
                    stream.start()
                    self.rate = rate
                    break
                except sd.PortAudioError as exc:
                    last_error = exc
                    if stream is not None:
                        stream.close()
                    stream = None
            if stream is None:
                raise CaptureError(f"cannot open the microphone: {last_error}")
            self._stream = stream

    def close(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()
