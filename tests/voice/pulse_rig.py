"""A private PulseAudio server for the capture tests: a virtual microphone fed from speech.

* ``pulseaudio`` runs in the foreground as our child (own runtime/state dirs, its own unix
  socket, anonymous auth), so it never meets a user's sound server and is killed by pid.
* A null sink ``hushmic`` (16 kHz mono); its monitor source is the default source, i.e. the
  microphone every client (PortAudio through ALSA's ``pulse`` plugin) records from.
* A silent stream plays into the sink all the time at 20 ms latency: like a real microphone
  the source then delivers audio continuously (an idle null sink renders in 2 s lumps).
* ``play(audio)`` plays 16 kHz float32 speech into the sink in real time (``pacat``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

SINK = "hushmic"


class PulseRig:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.runtime = self.root / "run"
        self.socket = self.runtime / "native"
        self.daemon: subprocess.Popen | None = None
        self.silence: subprocess.Popen | None = None
        self.log_path = self.root / "pulseaudio.log"

    @staticmethod
    def available() -> str | None:
        """None when the rig can run here, else why not."""
        for tool in ("pulseaudio", "pactl", "pacat"):
            if not shutil.which(tool):
                return f"{tool} is not installed (scripts/setup.sh installs pulseaudio)"
        if not Path("/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so").exists() and \
                not list(Path("/usr/lib").glob("*/alsa-lib/libasound_module_pcm_pulse.so")):
            return "libasound2-plugins (ALSA's pulse plugin) is not installed"
        return None

    @property
    def env(self) -> dict[str, str]:
        """What a client needs to talk to this server (and only this one)."""
        return {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(self.runtime),
            "PULSE_STATE_PATH": str(self.root / "state"),
            "PULSE_COOKIE": str(self.root / "cookie"),
        }

    def _client_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        return env

    def pactl(self, *args: str) -> str:
        out = subprocess.run(["pactl", *args], env=self._client_env(), capture_output=True,
                             text=True, timeout=20)
        if out.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def start(self) -> "PulseRig":
        self.runtime.mkdir(parents=True, exist_ok=True)
        (self.root / "state").mkdir(exist_ok=True)
        env = self._client_env()
        env["HOME"] = str(self.root)  # pulseaudio keeps its cookie under $HOME
        env["XDG_RUNTIME_DIR"] = str(self.root)
        env.pop("DISPLAY", None)
        log = open(self.log_path, "ab")
        self.daemon = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--system=false", "--exit-idle-time=-1", "-n",
             "--disallow-exit", "--disallow-module-loading=no", "--use-pid-file=no",
             "--log-target=stderr",
             f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1",
             f"--load=module-null-sink sink_name={SINK} rate=16000 channels=1 format=s16le",
             ],
            env=env, stdout=log, stderr=log, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 20
        while True:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                self.pactl("info")
                break
            except (RuntimeError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.1)
        self.pactl("set-default-sink", SINK)
        self.pactl("set-default-source", f"{SINK}.monitor")
        self.silence = subprocess.Popen(
            ["pacat", "--playback", f"--device={SINK}", "--format=s16le", "--rate=16000",
             "--channels=1", "--latency-msec=20", "/dev/zero"],
            env=self._client_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        return self

    def play(self, audio: np.ndarray) -> subprocess.Popen:
        """Start playing 16 kHz float32 ``audio`` into the virtual microphone (real time)."""
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        proc = subprocess.Popen(
            ["pacat", "--playback", f"--device={SINK}", "--format=s16le", "--rate=16000",
             "--channels=1", "--latency-msec=30"],
            env=self._client_env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def write() -> None:
            try:
                proc.stdin.write(pcm)
                proc.stdin.close()
            except (BrokenPipeError, ValueError):
                pass

        threading.Thread(target=write, daemon=True).start()
        return proc

    def stop(self) -> None:
        for proc in (self.silence, self.daemon):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.silence = self.daemon = None


def reinit_portaudio() -> None:
    """Make PortAudio re-scan its devices (it lists them once, at initialisation)."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()
