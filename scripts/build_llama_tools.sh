#!/usr/bin/env bash
# Build llama.cpp's own llama-server and llama-bench from the llama.cpp that the installed
# llama-cpp-python vendors (its PyPI sdist), with the same AMX-off flags as scripts/setup.sh,
# for `python -m benchmarks server`. Cached per version; nothing is committed.
#   bash scripts/build_llama_tools.sh            # prints the directory holding the binaries
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
version=$("$PY" -c "import llama_cpp; print(llama_cpp.__version__)")
cache="${XDG_CACHE_HOME:-$HOME/.cache}/hushtype/llama.cpp/$version"
bin="$cache/bin"
if [[ -x "$bin/llama-server" && -x "$bin/llama-bench" ]]; then
  echo "$bin"; exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "build_llama_tools: fetching the llama-cpp-python $version sdist" >&2
"$PY" -m pip download -q --no-deps --no-binary :all: -d "$work" "llama-cpp-python==$version" >&2
tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src=$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)
amx_off="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
echo "build_llama_tools: building llama-server and llama-bench (a few minutes on 2 cores)" >&2
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DBUILD_SHARED_LIBS=OFF \
  -DCMAKE_C_FLAGS="$amx_off" -DCMAKE_CXX_FLAGS="$amx_off" >&2
cmake --build "$work/build" --target llama-server llama-bench -j "$(nproc)" >&2
mkdir -p "$bin.tmp"
cp "$work/build/bin/llama-server" "$work/build/bin/llama-bench" "$bin.tmp/"
rm -rf "$bin"; mv "$bin.tmp" "$bin"
echo "$bin"
