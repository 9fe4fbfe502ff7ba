"""Experiment (not adopted, 2026-12-04): does a reader that also reads the candidate's previous sentence
tell answering sentences from absent-article ones better than a reader of the sentence alone?

    PYTHONPATH=. .venv/bin/python benchmarks/experiments/reader_context.py none 4000   # ~10 min here
    PYTHONPATH=. .venv/bin/python benchmarks/experiments/reader_context.py prev 4000   # ~13 min

Both fine-tune all-MiniLM-L6-v2 as train/fit_reader.py does (same seed, the same 4,000 questions of the
reader's articles, 15,314 pairs, one epoch), the context variant with the previous sentence of the same
file after the candidate (``sentence [SEP] previous``, so truncation cuts the context first; 73 tokens
a pair on average against 50). Each then reads the scorer's best 3 candidates of every valid question;
the highest logit separates answerable from absent-article and absent-paragraph questions:

| reader input | AUC absent | declined at 4% of answerable | AUC hard | declined at 4% |
|---|---|---|---|---|
| the sentence | 0.890 | 0.448 | 0.835 | 0.273 |
| the sentence, then the previous one | 0.888 | 0.427 | 0.829 | 0.295 |

No gain, at 1.46 times the tokens per pair. The shipped reader (18,557 questions, two epochs) reaches
AUC 0.930 and 0.58 on the same measure: more questions moved it, the neighbouring sentence did not.
The script also takes ``both`` (previous and next) and ``first`` (the file's first sentence); neither
was run.
"""
import logging
import sys
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from rag.embed.embedder import _minilm_path
from rag.rank.reader import MAX_TOKENS
from train.collect import collect
from train.fit_answerer import _index
from train.fit_reader import HEAD_LR, LR, NEGATIVES, WARMUP, _batches, _sentence_scorer, article, reader_articles
from train.squad import SEED

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
log = logging.getLogger("pilot")
variant, nq = sys.argv[1], int(sys.argv[2])

def with_context(index, key, text):
    if variant == "none":
        return text
    file, n = key
    parts = [text]
    if variant in ("prev", "both"):
        p = index.sentence(file, n - 1)
        parts.append(p.text if p is not None else "")
    if variant == "both":
        p = index.sentence(file, n + 1)
        parts.append(p.text if p is not None else "")
    if variant == "first":
        p = index.sentence(file, 0) if n > 0 else None
        parts.append(p.text if p is not None else "")
    return " [SEP] ".join(parts)

def pairs_of(d, logits, index):
    out = []
    if d.qa.kind == "answerable":
        gold = np.flatnonzero(d.label)
        if not len(gold):
            return []
        out.append((d.qa.question, with_context(index, d.keys[gold[0]], d.texts[gold[0]]), 1.0, d.texts[gold[0]]))
    seen = {o[3] for o in out}
    for i in np.argsort(-logits, kind="stable"):
        if len(out) >= NEGATIVES + 1:
            break
        if not d.label[i] and not d.holds[i] and d.texts[i] not in seen:
            seen.add(d.texts[i])
            out.append((d.qa.question, with_context(index, d.keys[i], d.texts[i]), 0.0, d.texts[i]))
    return [o[:3] for o in out]

torch.manual_seed(SEED)
torch.set_num_threads(2)
rng = np.random.default_rng(SEED)
t0 = time.perf_counter()
train = collect("train", 20)
scorer = _sentence_scorer()
tindex = _index("train")
mine = reader_articles(train, SEED)
chosen = [d for d in train if article(d) in mine]
chosen = [chosen[i] for i in rng.permutation(len(chosen))[:nq]]
del train
pairs = [p for d in chosen for p in pairs_of(d, scorer(d.features), tindex)]
log.info("%s: %d pairs", variant, len(pairs))
tok = AutoTokenizer.from_pretrained(str(_minilm_path()))
bert = AutoModel.from_pretrained(str(_minilm_path()))
head = torch.nn.Linear(bert.config.hidden_size, 1)
bert.embeddings.word_embeddings.weight.requires_grad = False
opt = torch.optim.AdamW([{"params": [p for p in bert.parameters() if p.requires_grad], "lr": LR}, {"params": head.parameters(), "lr": HEAD_LR}], weight_decay=0.01)
lengths = np.array([len(x) for x in tok([q for q, _, _ in pairs], [s for _, s, _ in pairs], truncation="only_second", max_length=MAX_TOKENS)["input_ids"]])
log.info("mean tokens %.1f", lengths.mean())
batches = _batches(pairs, lengths, rng)
sched = get_linear_schedule_with_warmup(opt, int(WARMUP * len(batches)), len(batches))
bert.train()
def fwd(batch_q, batch_s):
    enc = tok(batch_q, batch_s, padding=True, truncation="only_second", max_length=MAX_TOKENS, return_tensors="pt")
    h = bert(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    return head((h * m).sum(1) / m.sum(1)).squeeze(-1)
for step, rows in enumerate(batches):
    b = [pairs[i] for i in rows]
    loss = torch.nn.functional.binary_cross_entropy_with_logits(fwd([q for q, _, _ in b], [s for _, s, _ in b]), torch.tensor([y for _, _, y in b]))
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 100 == 0:
        log.info("step %d/%d loss %.4f (%.0f s)", step, len(batches), loss.item(), time.perf_counter() - t0)
t_train = time.perf_counter() - t0
bert.eval()
valid = collect("valid", 20)
vindex = _index("valid")
qs, ps = [], []
for qi, d in enumerate(valid):
    z = scorer(d.features)
    for i in np.argsort(-z, kind="stable")[:3]:
        qs.append(qi)
        ps.append((d.qa.question, with_context(vindex, d.keys[i], d.texts[i])))
out = np.zeros(len(ps), np.float32)
with torch.no_grad():
    for s in range(0, len(ps), 64):
        b = ps[s:s+64]
        out[s:s+64] = fwd([q for q, _ in b], [x for _, x in b]).numpy()
qs = np.array(qs)
mx = np.array([out[qs == i].max() for i in range(len(valid))])
kinds = np.array([d.qa.kind for d in valid])

a = mx[kinds == "answerable"]
thr = np.quantile(a, 0.04)
for k in ("absent", "hard"):
    n = mx[kinds == k]
    y = np.r_[np.ones(len(a)), np.zeros(len(n))]
    log.info("RESULT %s %s: AUC %.4f declined at 4%% %.3f (n=%d)", variant, k, roc_auc_score(y, np.r_[a, n]), (n < thr).mean(), len(n))
log.info("RESULT %s train %.0f s, total %.0f s", variant, t_train, time.perf_counter() - t0)
