#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (Python 3.11, root, no display):
# installs missing Debian packages, creates/updates ./.venv and installs hushtype into it.
#   bash scripts/setup.sh          # what running the assistant needs
#   bash scripts/setup.sh --test   # plus what the test suite needs (Xvfb, xterm, espeak-ng, chromium ...)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

# Runtime: PortAudio for sounddevice, xdotool/xclip for injection, a C toolchain and cmake
# because llama-cpp-python builds from source.
apt_pkgs=(build-essential cmake python3-venv libportaudio2 xdotool xclip x11-utils libnotify-bin)
# Wayland text output and clipboard; PyGObject's build deps and GTK/AppIndicator for the tray menu.
apt_pkgs+=(wtype wl-clipboard libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0
           gir1.2-ayatanaappindicator3-0.1)
# IBus backend: PyGObject builds in the venv against GObject-introspection 1.0; IBus at run time.
apt_pkgs+=(libgirepository1.0-dev libcairo2-dev pkg-config ibus gir1.2-ibus-1.0)
if (( with_tests )); then
  # Tests: a real X server and X apps, real speech and audio devices, a real browser.
  apt_pkgs+=(xvfb xterm espeak-ng sox libsndfile1 pulseaudio pulseaudio-utils alsa-utils
             libasound2-plugins chromium fonts-dejavu-core desktop-file-utils trayer python3-tk
             iproute2)
  # Wayland tests: headless sway (run as an ordinary user), GTK3 for Debian's python3 (test window).
  apt_pkgs+=(sway python3-gi)
  # IBus backend tests: a GTK3 window through IBus on Xvfb and on headless sway.
  apt_pkgs+=(ibus-gtk3 gir1.2-gtk-3.0 wtype wl-clipboard dbus-x11)
fi

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv

# Reinstall only when the dependency list changed (llama-cpp-python compiles for ~6 minutes;
# pip keeps the built wheel in its cache, so a fresh checkout on the same machine is quick).
extras=""; (( with_tests )) && extras="[test]"
stamp=".venv/.hushtype-installed${extras}"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
# llama.cpp compiles for the build machine's CPU. Some VMs advertise AMX but fault on its
# instructions (every decode crashes in ggml_backend_amx_mul_mat), so build without AMX.
amx_off="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
export CMAKE_ARGS="${CMAKE_ARGS:-} -DCMAKE_C_FLAGS=\"$amx_off\" -DCMAKE_CXX_FLAGS=\"$amx_off\""
# An NVIDIA GPU with the CUDA toolkit: build llama.cpp with CUDA (untested on the project's
# CPU-only machines). Its own stamps, so a CPU build is never taken for the CUDA one.
cuda=""
if command -v nvidia-smi >/dev/null && command -v nvcc >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  cuda="-cuda"
  export CMAKE_ARGS="$CMAKE_ARGS -DGGML_CUDA=on"
  stamp="$stamp$cuda"
fi
installed() { [[ -f "$1" && "$(cat "$1")" == "$want" ]]; }
# The test install is a superset: it serves the run command too.
if ! installed "$stamp" && ! { (( ! with_tests )) && installed ".venv/.hushtype-installed[test]$cuda"; }; then
  echo "setup: installing Python packages into .venv (first time: llama-cpp-python compiles, ~6 min on 2 cores)"
  .venv/bin/python -m pip install -q --upgrade pip wheel >/dev/null
  .venv/bin/python -m pip install -q -e ".${extras}"
  echo "$want" > "$stamp"
fi
# A wheel built earlier with AMX (e.g. reused from pip's cache) is rebuilt once without it.
if .venv/bin/python -c "import sys, llama_cpp; sys.exit(0 if b'AMX_INT8 = 1' in llama_cpp.llama_print_system_info() else 1)" 2>/dev/null; then
  echo "setup: rebuilding llama-cpp-python without AMX (~6 min on 2 cores)"
  llama_version=$(.venv/bin/python -c "import llama_cpp; print(llama_cpp.__version__)")
  .venv/bin/python -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q --no-deps --force-reinstall "llama-cpp-python==$llama_version"
fi
# A CPU wheel (e.g. from pip's cache) where CUDA was asked for: build from source with CUDA.
if [[ -n "$cuda" ]] && ! .venv/bin/python -c "import sys, llama_cpp; sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)" 2>/dev/null; then
  echo "setup: building llama-cpp-python with CUDA (GGML_CUDA=on; several minutes)"
  llama_version=$(.venv/bin/python -c "import llama_cpp; print(llama_cpp.__version__)")
  .venv/bin/python -m pip install -q --no-deps --force-reinstall --no-cache-dir --no-binary llama-cpp-python "llama-cpp-python==$llama_version"
fi
