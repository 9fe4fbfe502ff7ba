"""One validated settings object; the part that shapes the index is fingerprinted into the manifest."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rag.types import ConfigError


def available_cores() -> int:
    """The cores this process may run on: what ``threads`` means by "all cores" (a container or
    ``taskset`` may allow fewer than the machine has, and os.cpu_count() counts the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Bump when splitting or chunking changes what a saved index means, so old indexes are refused.
# 2: sentences bounded to 600 characters, headings marked, pages kept. 3: hard-wrapped text reflowed.
# 4: a full stop that a slash follows ("run ./configure", "-f ../foo.tar.gz") no longer ends a sentence.
SPLITTER_VERSION = "sentencex-blocks-4"
# Plain text is read as is; PDF, HTML and Word files have their text extracted (rag.ingest.extract).
DEFAULT_SUFFIXES = (".txt", ".md", ".pdf", ".html", ".htm", ".docx")
CONFIG_FILE = "rag.toml"
# Chosen on the SQuAD-train validation part, where more chunks added candidates faster than they added
# gold sentences (the recall at 10 to 30 chunks: train/README.md).
POOL = 20
ENV_PREFIX = "RAG_"

# The checks that can run around an LLM's answer, besides every citation's support (always checked).
# Each is registered once in rag/verify/whole_answer.py; a preset names the ones that run.
LLMCheck = Literal["anchor_first", "source_wording", "asked", "reader", "cross_check", "left_out"]


@dataclass(frozen=True)
class LLMPreset:
    context_sentences: int  # best-ranked sentences shown to the model
    checks: tuple[LLMCheck, ...]


# local: every check, each measured to help the local model on held-out questions, and a short prompt,
# which is most of its wait for the first sentence (docs/local-llm.md). api: unmeasured there, so none.
LLM_PRESETS: dict[str, LLMPreset] = {
    "local": LLMPreset(4, ("anchor_first", "source_wording", "asked", "reader", "cross_check", "left_out")),
    "api": LLMPreset(8, ()),
}


class Settings(BaseModel):
    """Every knob in one place. Built by ``Settings.load`` from defaults < rag.toml < RAG_* env < arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- what shapes the index (fingerprinted) --
    embedder: str = Field(
        "all-MiniLM-L6-v2", description="model id known to rag.embed, or a sentence-transformers folder"
    )
    chunk_sentences: int = Field(3, ge=1, le=50, description="sentences per chunk")
    chunk_overlap: int = Field(1, ge=0, description="sentences shared by neighbouring chunks")
    suffixes: tuple[str, ...] = Field(DEFAULT_SUFFIXES, description="file name endings read from the corpus")

    max_file_mb: float = Field(64, gt=0, description="larger files are skipped (and listed) rather than indexed")
    parse_timeout: float = Field(
        120,
        gt=0,
        description="seconds a PDF, HTML or Word file may take to parse before it is skipped "
        "(PDF throughput: benchmarks/EXTRACTION.md)",
    )

    # -- the vector index --
    ivf_above: int = Field(
        50_000, ge=1, description="past this many sentence vectors, search an IVF index instead of a flat one"
    )
    ivf_probe_share: float = Field(
        0.2,
        gt=0,
        le=1,
        description="share of IVF lists searched per query; 0.2 keeps recall@10 against exact search at 0.95 or more "
        "on real MiniLM vectors (benchmarks/RESULTS.md)",
    )
    compact_share: float = Field(
        0.2,
        ge=0,
        description="an update writes only the files it changed, beside the rest, until those and the "
        "rows they replaced pass this share of the index; then one segment is written again (rag/index/segments.py)",
    )
    lock_timeout: float = Field(120, ge=0, description="seconds to wait for another process updating the same index")
    store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="where sentence vectors and BM25 are searched: faiss (in process, the default) or "
        "milvus (a Milvus server at milvus_uri; the tables and manifest stay in the index folder)",
    )
    milvus_uri: str | None = Field(
        None,
        description="the Milvus server for store = milvus: a local `milvus-lite server` or a standalone or "
        "distributed Milvus (default: the one the index was built on, else http://127.0.0.1:19530)",
    )

    # -- retrieval --
    k: int = Field(5, ge=1, le=100, description="passages handed to the answerer (after the learned rerank)")
    pool: int = Field(
        POOL,
        ge=1,
        le=200,
        description="chunks each retriever fetches and fusion keeps; their sentences are the candidates the learned scorer reranks",
    )
    rrf_k: int = Field(60, ge=1, description="reciprocal-rank-fusion damping constant")

    # -- local extractive answerer --
    answerable_below: float | None = Field(
        None,
        ge=0,
        le=1,
        description="probability that the corpus holds the answer under which the answer declines; default: the threshold shipped with the learned scorer, chosen on held-out questions",
    )
    abstain_below: float | None = Field(
        None,
        ge=0,
        le=1,
        description="confidence (that the answer is right) under which the answer declines as well; default: the shipped value (0: the answerability gate alone decides)",
    )
    max_answer_sentences: int = Field(
        2, ge=1, le=10, description="sentences in an extractive answer, its antecedent included"
    )
    second_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description="the runner-up sentence joins the answer when at least this share as likely as the best; default: the value shipped with the learned scorer, chosen on held-out questions",
    )
    answer_phrase: bool = Field(
        True, description="lead an extractive answer with the words of its sentence that answer (the phrase reader)"
    )

    # -- generators --
    # local: the model `rag models pull` caches (or --gguf), served by llama.cpp in-process; llama is its old name
    generator: Literal["extractive", "openai", "local", "llama"] = "extractive"
    model: str | None = Field(None, description="chat model name for the openai generator")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; default OPENAI_BASE_URL or OpenAI")
    api_key: str | None = Field(None, repr=False, description="default OPENAI_API_KEY")
    timeout: float = Field(60.0, gt=0, description="seconds per API request")
    max_retries: int = Field(3, ge=0, le=10, description="retries on 429/5xx/timeouts, with backoff")
    gguf: Path | None = Field(
        None, description="GGUF weights for the local generator; default: the model `rag models pull` caches"
    )
    temperature: float = Field(0.0, ge=0, le=2)
    llm: Literal["local", "api"] | None = Field(
        None,
        description="which checks run around an LLM's answer (LLM_PRESETS): local, measured for the local model "
        "(docs/local-llm.md), or api, the citation checks alone; default: local for the local generator, api otherwise",
    )
    llm_checks: tuple[LLMCheck, ...] | None = Field(
        None,
        description="the checks to run instead of the preset's, by name (rag/verify/whole_answer.py says what each does)",
    )
    context_sentences: int | None = Field(
        None, ge=1, le=100, description="best-ranked sentences an LLM is shown; default: the preset's (4 local, 8 api)"
    )

    # -- citation checking --
    verify: Literal["lexical", "llm"] = "lexical"
    # 0.7: the lowest with a precision of 0.96 on the local model's first recorded draw of claims, checked
    # on a fresh draw held out (benchmarks/verify_claims.py, benchmarks/verify_pairs.py; docs/local-llm.md).
    support_threshold: float = Field(0.7, ge=0, le=1, description="verifier score a citation needs to survive")
    keep_unsupported: bool = False

    # -- runtime --
    threads: int | None = Field(
        None,
        ge=1,
        description="threads of the embedding model and the reader (onnxruntime or torch); default all cores",
    )
    batch_size: int = Field(
        32,
        ge=1,
        description="texts per torch model call; the fastest for sentences on CPU here (the ONNX path batches by token count, rag/embed/onnx_model.py)",
    )

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_sentences:
            raise ValueError("chunk_overlap must be smaller than chunk_sentences")
        return self

    def runs_locally(self) -> bool:
        """The generator is the local model served by llama.cpp (``llama`` is its old name)."""
        return self.generator in ("local", "llama")

    def llm_preset(self) -> LLMPreset:
        """The LLM answer's preset, with ``llm_checks`` and ``context_sentences`` applied where set."""
        preset = LLM_PRESETS[self.llm or ("local" if self.runs_locally() else "api")]
        return LLMPreset(
            self.context_sentences or preset.context_sentences,
            preset.checks if self.llm_checks is None else self.llm_checks,
        )

    def index_shaping(self) -> dict[str, Any]:
        """The settings that change what is stored, as written into the manifest."""
        return {
            "embedder": self.embedder,
            "chunk_sentences": self.chunk_sentences,
            "chunk_overlap": self.chunk_overlap,
            "suffixes": sorted(self.suffixes),
            "splitter": SPLITTER_VERSION,
            # Only when not the default, so indexes built before the setting keep their fingerprint.
            **({"store": self.store} if self.store != "faiss" else {}),
        }

    def index_fingerprint(self) -> str:
        """Hash of ``index_shaping``; a loaded index must carry the same one."""
        return hashlib.sha256(json.dumps(self.index_shaping(), sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Settings:
        """Merge defaults, a TOML file (``rag.toml`` in the working folder if present), RAG_* env vars and
        explicit overrides (``None`` values are ignored), validating the result."""
        values: dict[str, Any] = {}
        path = config_file or (Path(CONFIG_FILE) if Path(CONFIG_FILE).is_file() else None)
        if path is not None:
            try:
                values.update(tomllib.loads(Path(path).read_text(encoding="utf-8")))
            except UnicodeDecodeError as e:
                raise ConfigError(f"config file {path} is not UTF-8 text: pass a TOML file (see rag/config.py)") from e
            except (OSError, tomllib.TOMLDecodeError) as e:
                raise ConfigError(f"cannot read config file {path}: {e}") from e
        for name in cls.model_fields:
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = _parse_env(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return _validated(values, f"{path or 'the options'} and RAG_* variables")

    def replace(self, **changes: Any) -> Settings:
        """A validated copy with some fields changed (``None`` values are ignored)."""
        return _validated({**self.model_dump(), **{k: v for k, v in changes.items() if v is not None}}, "the options")


# The LLM checks' settings before they became named checks of a preset (2026-12-07): what each became.
_RETIRED = {
    "agree_first": '"anchor_first", "asked"',
    "cross_check": '"cross_check"',
    "reader_check": '"reader"',
    "source_wording": '"source_wording"',
    "complete_answer": '"left_out"',
}


def _validated(values: dict[str, Any], source: str) -> Settings:
    retired = sorted(set(values) & set(_RETIRED))
    if retired:
        checks = ", ".join(_RETIRED[r] for r in retired)
        raise ConfigError(
            f"{', '.join(retired)} is now chosen by llm (local or api) or listed in llm_checks: "
            f"llm_checks = [{checks}] (check {source})"
        )
    try:
        return Settings(**values)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {first['msg']} (check {source})") from e


def _parse_env(raw: str) -> Any:
    # Env values are strings; JSON lets RAG_K=5 or RAG_SUFFIXES='[".txt"]' arrive typed.
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
