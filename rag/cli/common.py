"""What the ``rag`` commands share: the error console and exit codes, the answering options declared
once, progress bars, and opening the assistant. Only the CLI prints; the library raises and logs."""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

# Before any model library loads: no hub traffic, no weight-loading bars on the user's terminal.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag.types import UNUSABLE, InputError, RagError

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.config import Settings

# Exit codes: 0 success, 1 usage or input error, 2 the index or a model could not be used.
EXIT_INPUT = 1
EXIT_UNUSABLE = 2

err = Console(stderr=True)
verbose = 0  # set by the command's callback; tracebacks are shown only when it is on

IndexDir = Annotated[Path, typer.Option("--index-dir", help="Where the index lives.")]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="A TOML settings file (default: ./rag.toml if present).")
]
Threads = Annotated[int | None, typer.Option("--threads", help="CPU threads for the embedding model.")]
Store = Annotated[
    str | None, typer.Option("--store", help="Where vectors and BM25 are searched: faiss (default) or milvus.")
]
MilvusUri = Annotated[
    str | None,
    typer.Option(
        "--milvus-uri", help="The Milvus server for --store milvus (default: the index's, else http://127.0.0.1:19530)."
    ),
]
SkipBadLines = Annotated[
    bool, typer.Option("--skip-bad-lines", help="Skip malformed question lines (each is logged) instead of stopping.")
]

# The options of every command that answers (ask, chat, batch, eval, serve, mcp), declared once: name ->
# (annotation, default). `answering` adds them to a command, which receives them as one AnswerOptions.
_ANSWER_OPTIONS: dict[str, tuple[object, object]] = {
    "k": (Annotated[int | None, typer.Option("-k", "--k", help="Passages to retrieve.")], None),
    "index_dir": (IndexDir, Path("index")),
    "corpus": (
        Annotated[
            Path | None,
            typer.Option(
                "--corpus",
                help="Folder of documents (.txt, .md, .pdf, .html, .docx) to answer from (default: the one the index was built from, else seeds/).",
            ),
        ],
        None,
    ),
    "config": (ConfigFile, None),
    "generator": (
        Annotated[
            str | None,
            typer.Option(
                "--generator",
                "-g",
                help="extractive (default, offline), local (a local LLM, see `rag models`), or openai.",
            ),
        ],
        None,
    ),
    "model": (Annotated[str | None, typer.Option("--model", help="Chat model for --generator openai.")], None),
    "base_url": (
        Annotated[
            str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL).")
        ],
        None,
    ),
    "gguf": (Annotated[Path | None, typer.Option("--gguf", help="Other GGUF weights for --generator local.")], None),
    "llm": (
        Annotated[
            str | None,
            typer.Option(
                "--llm",
                help="The checks around an LLM's answer: local (all) or api (citations only); default: by generator.",
            ),
        ],
        None,
    ),
    "verify": (
        Annotated[str | None, typer.Option("--verify", help="How citations are checked: lexical (default) or llm.")],
        None,
    ),
    "keep_unsupported": (
        Annotated[
            bool | None,
            typer.Option(
                "--keep-unsupported/--drop-unsupported", help="Keep answer sentences no citation supports, flagged."
            ),
        ],
        None,
    ),
    "threads": (Threads, None),
    "store": (Store, None),
    "milvus_uri": (MilvusUri, None),
}


def enabled_generators(listed: str) -> list[str]:
    """``rag serve --generators local,openai``, checked; an enabled local model is pulled now if need be,
    at the operator's word, never by a request."""
    from typing import get_args

    from rag.serve.app import Generator  # what a request may name: one list for both

    known = get_args(Generator)
    enabled = [g.strip() for g in listed.split(",") if g.strip()]
    unknown = sorted(set(enabled) - set(known))
    if unknown:
        raise InputError(f"--generators: unknown {', '.join(unknown)}: choose among {', '.join(known)}")
    if "local" in enabled:
        from rag.llm.local import local_model

        local_model()
    return enabled


def print_version(value: bool) -> None:
    if value:
        from rag.about import versions

        for name, line in versions().items():
            typer.echo(f"{name}: {line}" if name != "rag-cite" else f"rag-cite {line}")
        raise typer.Exit()


Version = Annotated[
    bool,
    typer.Option(
        "--version",
        callback=print_version,
        is_eager=True,
        help="The package version, the index format and the models' ids, then exit.",
    ),
]


@dataclass(frozen=True)
class AnswerOptions:
    """The shared options of the answering commands, as the user gave them."""

    k: int | None
    index_dir: Path
    corpus: Path | None
    config: Path | None
    generator: str | None
    model: str | None
    base_url: str | None
    gguf: Path | None
    llm: str | None
    verify: str | None
    keep_unsupported: bool | None
    threads: int | None
    store: str | None
    milvus_uri: str | None

    def settings(self) -> Settings:
        from rag.config import Settings

        overrides = {
            name: getattr(self, name)
            for name in (
                "k",
                "generator",
                "model",
                "base_url",
                "gguf",
                "llm",
                "verify",
                "keep_unsupported",
                "threads",
                "store",
                "milvus_uri",
            )
        }
        return Settings.load(self.config, **overrides)

    def open(self, settings: Settings | None = None) -> Assistant:
        """The assistant over the index, brought up to date with its corpus (progress on stderr)."""
        return open_assistant(self.index_dir, self.corpus, settings or self.settings())


def answering(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the shared answering options. Typer reads the signature: the command's own
    parameters (all but ``opts``) followed by the shared ones; the call gathers those into ``opts``."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "opts"]
    shared = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
        for n, (a, d) in _ANSWER_OPTIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:  # Typer passes each option's own type
        opts = AnswerOptions(**{n: kwargs.pop(n) for n in _ANSWER_OPTIONS})
        command(opts=opts, **kwargs)

    wrapper.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
    del wrapper.__wrapped__  # Typer must read the signature above, not the command's own
    return wrapper


@contextmanager
def errors() -> Iterator[None]:
    """The one place errors become a one-line message and an exit code (tracebacks only with -v)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except RagError as e:
        fail(str(e), EXIT_UNUSABLE if isinstance(e, UNUSABLE) else EXIT_INPUT)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # Whoever reads our output has gone (`rag ask ... | head -1`): stop quietly, as Unix tools do,
        # with stdout pointed at /dev/null so the interpreter's last flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(141) from None
    except Exception as e:  # a bug or an unforeseen OS error: still one line, and nothing half-written
        fail(f"{type(e).__name__}: {e} (rerun with -v for the traceback)", EXIT_INPUT)


def fail(message: str, code: int) -> None:
    if verbose:
        err.print_exception()
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code) from None


@contextmanager
def progress(label: str) -> Iterator[Callable[[str, int, int], None]]:
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def open_assistant(index_dir: Path, corpus: Path | None, settings: Settings) -> Assistant:
    """The assistant over the index, brought up to date with its corpus; what changed goes to stderr."""
    from rag.assistant import Assistant

    with progress("embedding changed files") as update:
        assistant = Assistant.open(index_dir, corpus, settings, progress=update)
    r = assistant.build_report
    if r is not None and r.changed:
        skipped = f", {len(r.skipped)} skipped (`rag index` lists why)" if r.skipped else ""
        err.print(
            f"indexed {r.files} files ({len(r.embedded_files)} embedded, {len(r.removed_files)} removed{skipped}) in {r.seconds:.1f}s",
            highlight=False,
        )
    return assistant


def require_extra(extra: str, *modules: str) -> None:
    """A one-line error naming the install command when an optional extra is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        from rag.types import ConfigError

        raise ConfigError(
            f"this command needs the {extra} extra ({', '.join(missing)} not installed): pip install 'rag-cite[{extra}]'"
        )
