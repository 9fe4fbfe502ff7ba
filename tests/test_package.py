"""The package as a user installs it: the wheel built with ``python -m build``, installed into a fresh venv
with plain pip (no setup.sh, no editable install), answering a seeds question with no network.

Slow (about 90 s: the install takes torch and the rest from the package registry or pip's cache), so in
the slow tier, which CI runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from rag import __version__

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Who was meant to be OpenAI's only supplier of computing resources?"

pytestmark = pytest.mark.slow


def _offline(cmd: list[str]) -> list[str]:
    """The command in a network namespace of its own, where one can be made: no network at all."""
    unshare = shutil.which("unshare")
    for wrap in (["unshare", "-n"], ["unshare", "-rn"]):
        if unshare and subprocess.run([*wrap, "true"], capture_output=True).returncode == 0:
            return [*wrap, *cmd]
    return cmd


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("package")
    # What a clone holds (the files git tracks or would track), not build leftovers of this folder: a
    # weights file that .gitignore hides would be missing from the wheel here as in a clone.
    src = work / "src"
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(src)], capture_output=True, text=True
    )
    assert build.returncode == 0, build.stderr[-2000:]
    venv.create(work / "venv", with_pip=True)
    pip = [str(work / "venv" / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    (wheel,) = (work / "dist").glob("rag_cite-*.whl")
    subprocess.run([*pip, str(wheel)], check=True)
    return work


def test_sdist_and_wheel_carry_the_licence_and_the_weights(installed: Path) -> None:
    import tarfile
    import zipfile

    (wheel,) = (installed / "dist").glob("rag_cite-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for member in (
        "rag/rank/reader.onnx",
        "rag/rank/phrase.onnx",
        "rag/rank/scorer.json",
        "rag/serve/static/index.html",
    ):
        assert member in names
    assert any(n.endswith("licenses/LICENSE") for n in names) and any(
        n.endswith("licenses/THIRD_PARTY.md") for n in names
    )
    (sdist,) = (installed / "dist").glob("rag_cite-*.tar.gz")
    assert any(n.endswith("/LICENSE") for n in tarfile.open(sdist).getnames())


def test_pip_show_names_the_licence(installed: Path) -> None:
    shown = subprocess.run(
        [str(installed / "venv" / "bin" / "python"), "-m", "pip", "show", "rag-cite"], capture_output=True, text=True
    ).stdout
    assert f"Version: {__version__}" in shown
    assert "License-Expression: Apache-2.0" in shown


def test_installed_wheel_answers_offline(installed: Path) -> None:
    home = installed / "user"
    shutil.copytree(ROOT / "seeds", home / "seeds")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),  # nothing from this machine's caches: the ONNX embedder is made anew
        "HF_HUB_OFFLINE": "1",
    }
    rag = str(installed / "venv" / "bin" / "rag")
    done = subprocess.run(
        _offline([rag, "ask", QUESTION, "--json"]), cwd=home, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    answer = json.loads(done.stdout)
    assert not answer["abstained"]
    assert "Microsoft" in answer["sentences"][0]["text"]
    assert answer["sentences"][0]["citations"][0]["file"].startswith("000_")
    version = subprocess.run(
        _offline([str(installed / "venv" / "bin" / "python"), "-m", "rag", "--version"]),
        env=env,
        capture_output=True,
        text=True,
    )
    assert version.returncode == 0 and version.stdout.startswith(f"rag-cite {__version__}")
    assert "missing" not in version.stdout, version.stdout
