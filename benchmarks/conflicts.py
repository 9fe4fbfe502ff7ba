"""The conflict judges on labelled pairs: precision and recall per kind and per judge.

    .venv/bin/python -m benchmarks.conflicts [--part valid|train] [--paragraphs 60] [--llm]

The pairs, each labelled conflict / compatible / unrelated:
1. **seeds**: benchmarks/data/conflict_pairs_seeds.jsonl, written by hand: the articles' real
   disagreement (for-profit against non-profit), their look-alikes that do not disagree (an initial
   investment against a total stake), and edits of their sentences.
2. **edits**: controlled edits of SQuAD-train sentences (train/squad.py's split, never the dev file):
   a changed figure or year, an antonym predicate, an inserted negation, a reversed "from X to Y", two
   parties swapped (benchmarks/verify_claims.py's edits). Each edit against its original is a conflict;
   the edit against the most similar untouched sentence of its paragraph is a hard compatible pair;
   a sentence against one of another article is unrelated.

Rules are developed on ``--part train``; the figures reported are on ``--part valid``. With ``--llm`` the
local model (``rag models pull``) judges the pairs the rules leave open; its replies are cached.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.verify_claims import edits  # noqa: E402
from rag.conflicts.rules import judge, overlap  # noqa: E402
from rag.ingest.corpus import split_sentences  # noqa: E402
from rag.text.tokens import tokens  # noqa: E402
from rag.types import Document  # noqa: E402
from train.squad import split_articles  # noqa: E402

SEED = 7
SEEDS_PAIRS = ROOT / "benchmarks" / "data" / "conflict_pairs_seeds.jsonl"
CACHE = ROOT / "benchmarks" / ".cache" / "conflicts"
KIND_OF_EDIT = {
    "number": "figure",
    "predicate": "antonym",
    "negation": "negation",
    "direction": "direction",
    "reversed": "reversed",
}


def seed_pairs() -> list[dict]:
    return [
        dict(json.loads(line), source="seeds")
        for line in SEEDS_PAIRS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def edit_pairs(part: str, paragraphs: int) -> list[dict]:
    rng = random.Random(f"{SEED}-{part}")
    articles = split_articles()[part]
    chosen = rng.sample([(a["title"], p["context"]) for a in articles for p in a["paragraphs"]], paragraphs)
    pairs: list[dict] = []
    for title, context in chosen:
        sents = [s.text for s in split_sentences(Document(title, context)) if len(s.text.split()) >= 8]
        for s in sents:
            options = [(k, e) for k, e in edits(s, [o for o in sents if o != s]) if k in KIND_OF_EDIT and e != s]
            if not options:
                continue
            kind, edited = rng.choice(options)
            if kind == "number" and _edited_year(s, edited):
                kind = "date"
            pairs.append(
                {"a": s, "b": edited, "label": "conflict", "kind": KIND_OF_EDIT.get(kind, kind), "source": "edits"}
            )
            others = [o for o in sents if o != s]
            if others:
                near = max(others, key=lambda o: overlap(tokens(o), tokens(s)))
                pairs.append({"a": near, "b": edited, "label": "compatible", "kind": "", "source": "edits"})
            far_title, far = rng.choice(chosen)
            if far_title != title:
                far_sents = [x.text for x in split_sentences(Document(far_title, far))]
                pairs.append({"a": s, "b": rng.choice(far_sents), "label": "unrelated", "kind": "", "source": "edits"})
    return pairs


def _edited_year(before: str, after: str) -> bool:
    import re

    old = re.findall(r"\b\d[\d,]*\b", before)
    new = re.findall(r"\b\d[\d,]*\b", after)
    return any(o != n and re.fullmatch(r"1[5-9]\d\d|20\d\d", o) for o, n in zip(old, new))


def llm_complete():  # type: ignore[no-untyped-def]
    """One prompt to the local model, cached by prompt in benchmarks/.cache/conflicts/llm.jsonl."""
    from rag.assistant import Assistant
    from rag.config import Settings
    from rag.types import IndexMismatchError

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "llm.jsonl"
    cache = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            cache[row["prompt"]] = row["reply"]
    assistant = None

    def complete(prompt: str) -> str:
        nonlocal assistant
        if prompt not in cache:
            if assistant is None:
                settings = Settings.load(generator="local")
                try:
                    assistant = Assistant.from_dir(ROOT / "seeds", CACHE / "seeds-index", settings)
                except IndexMismatchError:  # written by an older rag
                    assistant = Assistant.from_dir(ROOT / "seeds", CACHE / "seeds-index", settings, rebuild=True)
            cache[prompt] = assistant.completer()(prompt)  # type: ignore[misc]
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"prompt": prompt, "reply": cache[prompt]}, ensure_ascii=False) + "\n")
        return cache[prompt]

    return complete


def score(pairs: list[dict], predict) -> dict:  # type: ignore[no-untyped-def]
    """Precision over all flagged pairs, recall per gold kind, and what the false alarms were."""
    flagged = [(p, v) for p in pairs if (v := predict(p))]
    true = [p for p, _ in flagged if p["label"] == "conflict"]
    conflicts = [p for p in pairs if p["label"] == "conflict"]
    by_kind = defaultdict(lambda: [0, 0])
    for p in conflicts:
        by_kind[p["kind"]][1] += 1
    for p in true:
        by_kind[p["kind"]][0] += 1
    flagged_kinds = Counter(v.kind for _, v in flagged)
    right_kinds = Counter(v.kind for p, v in flagged if p["label"] == "conflict")
    return {
        "precision": len(true) / len(flagged) if flagged else None,
        "recall": len(true) / len(conflicts) if conflicts else None,
        "flagged": len(flagged),
        "recall_by_kind": {k: f"{a}/{n}" for k, (a, n) in sorted(by_kind.items())},
        "precision_by_flagged_kind": {k: f"{right_kinds[k]}/{n}" for k, n in sorted(flagged_kinds.items())},
        "false_alarms": [
            (p["label"], v.kind, v.summary, p["a"][:90], p["b"][:90]) for p, v in flagged if p["label"] != "conflict"
        ],
        "missed": [(p["kind"], p["a"][:90], p["b"][:90]) for p in conflicts if p not in true],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="valid", choices=["train", "valid"])
    ap.add_argument("--paragraphs", type=int, default=60)
    ap.add_argument("--llm", action="store_true", help="also the local model as a judge of what the rules leave open")
    ap.add_argument("--llm-alone", action="store_true", help="also the model on every pair (slow: ~1 s a pair)")
    ap.add_argument("--show", type=int, default=8, help="false alarms and misses to print")
    args = ap.parse_args()
    sets = {"seeds": seed_pairs(), "edits": edit_pairs(args.part, args.paragraphs)}
    sets["all"] = sets["seeds"] + sets["edits"]
    judges = {"rules": lambda p: judge(p["a"], p["b"])}
    if args.llm:
        from rag.conflicts.scan import judged_with_llm, llm_verdict

        complete = llm_complete()
        # As `rag conflicts --judge llm` does: the model decides the unsure rule verdicts and the close
        # pairs that share a name.
        judges["rules + llm"] = lambda p: judged_with_llm(complete, p["a"], p["b"])
        if args.llm_alone:
            judges["llm alone"] = lambda p: llm_verdict(complete, p["a"], p["b"])
    print(
        f"part {args.part}: "
        + ", ".join(f"{name} {len(ps)} pairs {dict(Counter(p['label'] for p in ps))}" for name, ps in sets.items())
    )
    for jname, predict in judges.items():
        for sname, ps in sets.items():
            r = score(ps, predict)
            p = "n/a" if r["precision"] is None else f"{r['precision']:.3f}"
            print(f"\n[{jname}] {sname}: precision {p}, recall {r['recall']:.3f} ({r['flagged']} flagged)")
            print(f"  recall by kind: {r['recall_by_kind']}")
            print(f"  precision by kind flagged: {r['precision_by_flagged_kind']}")
            if sname == "all":
                for fa in r["false_alarms"][: args.show]:
                    print("  FALSE ALARM", fa)
                for m in r["missed"][: args.show]:
                    print("  MISSED", m)


if __name__ == "__main__":
    main()
