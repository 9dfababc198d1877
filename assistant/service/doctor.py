"""``hushtype doctor``: is everything the assistant needs here? Each check says how to fix it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def check_display(env=None) -> Check:
    from assistant.service.up import display_status

    kind, text = display_status(env)
    if kind == "x11":
        return Check("display server", True, text)
    if kind == "xwayland":
        return Check("display server", True, text, "log in with an X11 session for all apps", required=False)
    if kind == "wayland":
        return Check("display server", False, text, "for typed commands start IBus (the ibus backend) "
                     "or log in with an X11 session; voice works through `hushtype voice toggle`",
                     required=False)
    fix = ("start hushtype inside your X11 desktop session (DISPLAY must be set) or a Wayland "
           "session (WAYLAND_DISPLAY)")
    return Check("display server", False, text, fix)


def check_platform(settings: dict, env=None) -> list[Check]:
    """The backend `hushtype up` would use here, and why (plus the tools it needs)."""
    from assistant.platform.select import choose_backend, default_probes, requested_backend

    env = os.environ if env is None else env
    try:
        name, reason = choose_backend(requested_backend(settings), env, default_probes(env))
    except ValueError as exc:
        return [Check("platform backend", False, str(exc), "set [platform] backend to auto, x11, ibus or wayland")]
    checks = [Check("platform backend", name != "none", f"{name}: {reason}",
                    "run inside a desktop session", required=False)]
    if name == "wayland":
        from assistant.platform.wayland import insert_method

        method = insert_method(settings, env, bool(shutil.which("wtype")))
        checks.append(Check("wayland text output", True,
                            "wtype types the transcript (wlroots compositor)" if method == "wtype" else
                            "the transcript goes on the clipboard with a \"press Ctrl+V\" notification "
                            "(this compositor lets no program type; wtype works on sway/Hyprland)",
                            required=False))
        for tool, pkg, job in (("wl-copy", "wl-clipboard", "the clipboard on Wayland"),
                               ("wtype", "wtype", "typing on wlroots compositors")):
            path = shutil.which(tool)
            checks.append(Check(tool, bool(path), f"{path} ({job})" if path else f"not installed ({job})",
                                f"sudo apt install {pkg}", required=False))
    return checks


def check_x11() -> list[Check]:
    if not os.environ.get("DISPLAY"):
        return [Check("keyboard hook", False, "no X display to hook", "run inside an X11 session")]
    try:
        import Xlib.display

        display = Xlib.display.Display()
    except Exception as exc:
        return [Check("keyboard hook", False, f"cannot open the X display {os.environ.get('DISPLAY')}: {exc}",
                      "check DISPLAY and that your user may connect (xhost / XAUTHORITY)")]
    try:
        record = display.has_extension("RECORD")
        xtest = display.has_extension("XTEST")
        xi2 = display.has_extension("XInputExtension")
    finally:
        display.close()
    return [
        Check("keyboard hook", record, "X RECORD extension " + ("present" if record else "missing"),
              'enable it: Section "Module" Load "record" in xorg.conf (Xvfb: +extension RECORD)'),
        Check("key injection", xtest, "X XTEST extension " + ("present" if xtest else "missing"),
              'enable XTEST in the X server (Xvfb: +extension XTEST)'),
        Check("keyboard blocking", xi2, "XInput2 " + ("present: your keys wait while a result is typed"
                                                      if xi2 else "missing: your keys may mix with a result"),
              "use an X server with XInput2", required=False),
    ]


def check_tools() -> list[Check]:
    out = []
    for tool, job, required in (("xdotool", "types results and Backspaces", True),
                                ("xclip", "saves and restores the clipboard around a paste", True),
                                ("notify-send", "desktop notifications when a command fails", False)):
        path = shutil.which(tool)
        pkg = "libnotify-bin" if tool == "notify-send" else tool
        out.append(Check(tool, bool(path), f"{path} ({job})" if path else f"not installed ({job})",
                         f"sudo apt install {pkg}", required=required))
    return out


def check_server(settings: dict) -> list[Check]:
    from assistant.ollama_client import OllamaClient, OllamaError

    client = OllamaClient.from_settings(settings)
    try:
        try:
            version = client.version()
        except OllamaError as exc:
            start = settings.get("server", {}).get("start_bundled", True)
            return [check_server_location(settings),
                    Check("model server", False, f"nothing answers at {client.base_url} ({exc})",
                          "`hushtype up` starts the bundled server; or run `hushtype serve`",
                          required=not start), check_local_model(settings)]
        checks = [Check("model server", True, f"{client.base_url} (version {version})")]
        checks.insert(0, check_server_location(settings))
        model = settings.get("server", {}).get("model") or "gemma3:270m"
        try:
            names = {m.get("name") for m in client.tags()} | {m.get("model") for m in client.tags()}
        except OllamaError as exc:
            return checks + [Check("models", False, f"cannot list models: {exc}", "check the server log")]
        have = model in names or f"{model}:latest" in names
        checks.append(Check("models", have, f"{model} " + ("installed" if have else "is missing"),
                            f"hushtype pull {model}  (or choose another model on the settings page)"))
        return checks
    finally:
        client.close()


def check_server_location(settings: dict) -> Check:
    """Where commands' text goes: this machine, or (opt-in) another host, said plainly."""
    from assistant.ollama_client import resolve_base_url
    from assistant.server_location import leaves_machine

    url = resolve_base_url(settings)
    api = str(settings.get("server", {}).get("api") or "ollama")
    notice = leaves_machine(url)
    if notice is None:
        return Check("privacy", True, f"text stays on this machine (model server {url}, {api} API)")
    # Not a failure: the user chose it; the line says what it means.
    return Check("privacy", True, f"{notice} ({url}, {api} API) — set [server] url back to "
                                  f"http://127.0.0.1:11434 to keep it here")


def check_local_model(settings: dict) -> Check:
    """With no server answering: is the model in the local store the bundled server uses?"""
    from assistant import paths
    from inference.models.embedded import EMBEDDED_MODEL
    from inference.models.store import ModelNotFound, ModelStore

    model = settings.get("server", {}).get("model") or EMBEDDED_MODEL
    store_dir = paths.models_dir()
    try:
        ModelStore(store_dir).get(model)
        return Check("models", True, f"{model} installed in {store_dir}")
    except ModelNotFound:
        if model == EMBEDDED_MODEL:
            return Check("models", True, f"{model} is bundled; installed into {store_dir} when the server starts")
        return Check("models", False, f"{model} is not in {store_dir}",
                     f"hushtype pull {model}  (or choose another model on the settings page)")
    except Exception as exc:
        return Check("models", False, f"cannot read the model store {store_dir}: {exc}",
                     "check the directory's permissions")


def check_microphone() -> Check:
    try:
        import sounddevice
    except Exception as exc:
        return Check("microphone", False, f"sounddevice/PortAudio unavailable: {exc}",
                     "sudo apt install libportaudio2", required=False)
    try:
        inputs = [d for d in sounddevice.query_devices() if d.get("max_input_channels", 0) > 0]
    except Exception as exc:
        return Check("microphone", False, f"cannot list audio devices: {exc}",
                     "check PulseAudio/PipeWire is running", required=False)
    if not inputs:
        return Check("microphone", False, "no input device", "plug in a microphone or start PulseAudio",
                     required=False)
    return Check("microphone", True, f"{len(inputs)} input device(s), e.g. {inputs[0]['name']}", required=False)


def check_history() -> list[Check]:
    """Damaged history databases moved aside (and one found damaged now, before anything opens it)."""
    from assistant import paths
    from assistant.history.recovery import damage, describe, notes_path, read_notes

    path = paths.history_db()
    out = []
    reason = damage(path)
    if reason:
        out.append(Check("history", False, f"{path} is damaged ({reason})",
                         "start `hushtype up`: it moves the file aside (kept, not deleted) and starts a "
                         "fresh history", required=False))
    for note in read_notes(notes_path(path)):
        out.append(Check("history", False, describe(note),
                         f"nothing to repair; delete {note.moved_to} when you no longer need it",
                         required=False))
    if not out:
        out.append(Check("history", True, f"{path}" + ("" if path.exists() else " (created on first use)")))
    return out


def check_model_files(settings: dict) -> list[Check]:
    """Every model in the local store whose weights are truncated or changed (each file read once)."""
    from assistant import paths
    from inference.models.integrity import damaged_models
    from inference.models.store import ModelStore

    store_dir = paths.models_dir()
    if not (store_dir / "manifests").is_dir():
        return []
    default = settings.get("server", {}).get("model") or "gemma3:270m"
    found = damaged_models(ModelStore(store_dir))
    if not found:
        return [Check("model files", True, f"every model's weights in {store_dir} match their digests")]
    return [Check("model files", False, f"{d.model}: {d.reason} ({store_dir / 'blobs' / d.blob})",
                  f"hushtype pull {d.model}  (or hushtype import FILE.gguf --name {d.model} --force)",
                  required=d.model in (default, f"{default}:latest")) for d in found]


def run_checks(settings: dict) -> list[Check]:
    checks = [check_display()]
    checks += check_history()
    checks += check_model_files(settings)
    platform = check_platform(settings)
    checks += platform
    x11 = check_x11() + check_tools()
    if platform and platform[0].detail.split(":", 1)[0] in ("wayland", "ibus"):
        for check in x11:                    # X11 tools matter only to the X11 backend there
            if check.name != "notify-send":
                check.required = False
    checks += x11
    from assistant.platform.ibus.doctor import ibus_checks     # IBus backend (Wayland, X11)

    checks += ibus_checks()
    checks += check_server(settings)
    checks.append(check_microphone())
    return checks
