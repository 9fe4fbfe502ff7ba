"""Are the answers the same as before a change? Records every answer's JSON record (timings aside) on
three sets, and later compares a run against that record: for changes that must not change behaviour
(moving code, one design for the LLM checks).

    .venv/bin/python -m benchmarks.same_answers dev   --out before-dev.jsonl
    .venv/bin/python -m benchmarks.same_answers squad --out before-squad.jsonl
    .venv/bin/python -m benchmarks.same_answers llm   --out before-llm.jsonl           # runs the local model
    .venv/bin/python -m benchmarks.same_answers llm   --against before-llm.jsonl       # replays its replies

- ``dev``: the seeds and ``../shared/eval/dev.jsonl`` (a smoke test, never tuned on), extractive.
- ``squad``: 300 SQuAD-train *test* questions (answerable, absent-article and absent-paragraph, seeded)
  over the test part's 2,000-paragraph corpus (train/squad.py), extractive.
- ``llm``: the local model's answers to the first ``--llm-questions`` of those. Recording runs the model
  and keeps each of its replies beside the answer; ``--against`` answers again with the recorded replies
  played back (no model runs), so the checks around the model are compared on the very same replies.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from train.squad import build_split, write_corpus  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
SQUAD_QUESTIONS = 300
SEED = 1301


def questions(name: str) -> tuple[Path, list[tuple[str, str]]]:
    """The corpus folder and the (id, question) pairs of a set."""
    if name == "dev":
        rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
        return ROOT / "seeds", [(str(r.get("id", i)), r["question"]) for i, r in enumerate(rows)]
    split = build_split("test", min_paragraphs=2000)
    corpus = write_corpus(split, CACHE / "same_answers" / "corpus")
    picked = random.Random(SEED).sample(split.questions, SQUAD_QUESTIONS)
    return corpus, [(q.id, q.question) for q in picked]


class Unrecorded(Exception):
    """The model would be shown another prompt than any recorded."""


class Recorder:
    """Stands between the LLM answerer and its generator: passes each request on and keeps the reply
    (record), or answers from the kept replies alone (replay)."""

    def __init__(self, inner: Any, replies: dict[str, str] | None = None):
        self.inner, self.replies, self.recording = inner, dict(replies or {}), replies is None

    @staticmethod
    def key(messages: Any, max_tokens: Any) -> str:
        return json.dumps([messages, max_tokens], sort_keys=True)

    def complete(self, messages: Any, max_tokens: Any = None) -> str:
        k = self.key(messages, max_tokens)
        if self.recording:
            self.replies[k] = str(self.inner.complete(messages, max_tokens))
        if k not in self.replies:
            raise Unrecorded(k[:80])
        return self.replies[k]

    def stream(self, messages: Any, max_tokens: Any = None) -> Any:
        reply = self.complete(messages, max_tokens)
        for i in range(0, len(reply), 7):  # in pieces, as a server streams
            yield reply[i : i + 7]


def llm_settings(record: bool) -> Any:
    """The local model's settings: the model itself to record; to replay, an API generator that never
    connects, with every check the local model runs."""
    from rag.config import Settings

    if record:
        return Settings.load(generator="local")
    return Settings.load(generator="openai", base_url="http://127.0.0.1:9/v1", model="replay", api_key="x", llm="local")


def run(name: str, llm_questions: int, against: Path | None) -> list[dict]:
    from rag.assistant import Assistant
    from rag.config import Settings

    corpus, qs = questions("dev" if name == "dev" else "squad")
    index_dir = CACHE / "same_answers" / ("index-dev" if name == "dev" else "index")
    if name != "llm":
        assistant = Assistant.from_dir(corpus, index_dir, Settings.load())
        return [_record(assistant.ask(q, id=i)) for i, q in qs]
    assistant = Assistant.from_dir(corpus, index_dir, llm_settings(record=against is None))
    kept = [json.loads(line) for line in against.read_text(encoding="utf-8").splitlines()] if against else []
    out = []
    for n, (i, q) in enumerate(qs[:llm_questions]):
        replies = kept[n]["replies"] if kept else None
        recorder = Recorder(assistant.answerer.generator, replies)  # type: ignore[attr-defined]
        assistant.answerer.generator = recorder  # type: ignore[attr-defined]
        try:
            row = _record(assistant.ask(q, id=i))
        except Unrecorded:
            row = {"id": i, "question": q, "answer": "(the prompt changed: no recorded reply)", "abstained": False}
        row["replies"] = recorder.replies
        assistant.answerer.generator = recorder.inner  # type: ignore[attr-defined]
        out.append(row)
        print(f"{n + 1}/{llm_questions}", file=sys.stderr, flush=True)
    return out


def _record(answer: Any) -> dict:
    d = answer.to_dict()
    d.pop("timings", None)
    return d


def compare(before: list[dict], after: list[dict]) -> int:
    differ = 0
    for b, a in zip(before, after, strict=True):
        b, a = {k: v for k, v in b.items() if k != "replies"}, {k: v for k, v in a.items() if k != "replies"}
        if b != a:
            differ += 1
            print(
                f"differs: {b['id']} {b['question']!r}\n  before: {b['answer'][:200]!r}\n  after:  {a['answer'][:200]!r}"
            )
    return differ


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("set", choices=["dev", "squad", "llm"])
    p.add_argument("--out", type=Path, help="write the answers here (the record)")
    p.add_argument("--against", type=Path, help="compare with this record")
    p.add_argument("--llm-questions", type=int, default=60)
    a = p.parse_args()
    rows = run(a.set, a.llm_questions, a.against if a.set == "llm" else None)
    if a.out:
        a.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if a.against:
        before = [json.loads(line) for line in a.against.read_text(encoding="utf-8").splitlines()]
        differ = compare(before, rows)
        given = sum(not r["abstained"] for r in rows)
        print(
            f"{a.set}: {len(rows) - differ} of {len(rows)} answers identical ({given} answered, {len(rows) - given} declined)"
        )
        sys.exit(1 if differ else 0)
    print(f"{a.set}: {len(rows)} answers recorded")


if __name__ == "__main__":
    main()
