"""The ``rag`` command: each command parses, calls the library, renders. Answers go to stdout;
progress, logs and errors go to stderr."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli import common as cli_common
from rag.cli.common import (
    EXIT_INPUT,
    AnswerOptions,
    ConfigFile,
    IndexDir,
    MilvusUri,
    SkipBadLines,
    Store,
    Threads,
    Version,
    answering,
    enabled_generators,
    err,
    errors,
    progress,
    require_extra,
)
from rag.cli.conflicts import conflicts
from rag.cli.models import models_app
from rag.types import RagError

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.config import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Cited answers from a folder of articles.")
app.add_typer(models_app, name="models")


@app.callback()
def main(
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug logs on stderr; tracebacks on errors."),
    ] = 0,
    version: Version = False,
) -> None:
    cli_common.verbose = verbose
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("faiss.loader", "httpx", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


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


def _settings(config: Path | None, threads: int | None = None) -> Settings:
    from rag.config import Settings

    return Settings.load(config, threads=threads)


def _answer(assistant: Assistant, question: str, as_json: bool = False) -> None:
    """Print one answer; sentences stream as the answerer checks them (an LLM's one by one)."""
    from rag.render import LOST_CITATIONS, StreamRenderer, render
    from rag.types import Answer

    if as_json:
        typer.echo(json.dumps(assistant.ask(question).to_dict(), indent=2, ensure_ascii=False))
        return
    renderer = StreamRenderer()
    for item in assistant.ask_stream(question):
        if isinstance(item, Answer) and renderer.replaces(item):
            typer.echo(f"\n{LOST_CITATIONS}", err=True)  # a note for the reader, not part of the answer
            typer.echo("\n\n" + render(item), nl=False)
        else:
            typer.echo(renderer.piece(item), nl=False)
    typer.echo("")


@app.command()
def index(
    folder: Annotated[Path, typer.Argument(help="Folder of documents: .txt, .md, .pdf, .html, .docx.")] = Path("seeds"),
    index_dir: IndexDir = Path("index"),
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Start over instead of updating (needed after changing index settings).")
    ] = False,
    config: ConfigFile = None,
    threads: Threads = None,
    store: Store = None,
    milvus_uri: MilvusUri = None,
) -> None:
    """Index FOLDER: split, chunk, embed and store; only changed files are embedded again."""
    with errors():
        from rag.build import build_index
        from rag.config import Settings
        from rag.embed.embedder import load_embedder

        settings = Settings.load(config, threads=threads, store=store, milvus_uri=milvus_uri)
        embedder = load_embedder(settings.embedder, settings.threads, settings.batch_size)
        with progress("embedding") as update:
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
@answering
def ask(
    opts: AnswerOptions,
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full answer record as JSON.")] = False,
) -> None:
    """Answer one QUESTION with a citation after every sentence."""
    with errors():
        _answer(opts.open(), question, as_json)


@app.command()
@answering
def chat(opts: AnswerOptions) -> None:
    """Ask questions at a prompt; `exit` or Ctrl-D leaves. An error ends the question, not the session."""
    with errors():
        assistant = opts.open()
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # pragma: no cover - not on every platform
        pass
    from rich.markup import escape

    from rag.answer.followup import rewrite

    interactive = sys.stdin.isatty()
    if interactive:
        err.print("Ask about the articles; `exit` or Ctrl-D to leave.")
    history: list[str] = []  # questions as answered, follow-ups already rewritten
    while True:
        try:
            question = input("? " if interactive else "")
        except EOFError:
            if interactive:  # Ctrl-D at the prompt: the shell's next prompt starts on a line of its own
                typer.echo("")
            break
        except KeyboardInterrupt:
            typer.echo("")
            continue
        if question.strip().lower() in {"exit", "quit", ":q"}:
            break
        if not question.strip():
            continue
        try:
            standalone = rewrite(question, history, assistant.completer())
            if standalone != question:
                err.print(f"[dim]({escape(standalone)})[/dim]", highlight=False)
            _answer(assistant, standalone)
            history.append(standalone)
            typer.echo("")
        except RagError as e:
            err.print(f"[red]error:[/red] {e}", highlight=False)
        except KeyboardInterrupt:
            err.print("(interrupted)")


@app.command()
@answering
def batch(
    opts: AnswerOptions,
    questions: Annotated[
        Path, typer.Argument(help=".txt (one question a line) or .jsonl (objects with question, optional id).")
    ],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Answers file (JSON Lines); a rerun skips ids already in it.")
    ],
    skip_bad_lines: SkipBadLines = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an output file that is not a rag answers file.")
    ] = False,
) -> None:
    """Answer every question in QUESTIONS, one JSON line each, flushed as it is written."""
    with errors():
        from rag.batch import answered_ids, read_questions, run_batch, still_to_answer

        qs = read_questions(questions, skip_bad_lines)  # bad input fails before the model loads
        todo = len(still_to_answer(qs, answered_ids(out, force))[0])
        assistant = opts.open()
        with progress("answering") as update:
            update("answer", 0, todo)
            counter = iter(range(1, todo + 1))
            report = run_batch(assistant, qs, out, opts.k, on_answer=lambda q, r: update("answer", next(counter), todo))
        err.print(
            f"{report.answered} answered ({report.abstained} abstained), {report.failed} failed, "
            f"{report.skipped} already done"
            + (f", {report.changed} answered again (their id now holds another question)" if report.changed else "")
            + f" -> {out}",
            highlight=False,
        )
        if report.failed:
            raise typer.Exit(2)


@app.command(name="eval")
@answering
def eval_(
    opts: AnswerOptions,
    questions: Annotated[Path, typer.Argument(help="A .jsonl with question and any of answerable, answer_all, gold.")],
    save: Annotated[
        Path | None, typer.Option("--save", "-o", help="Keep the per-question answer records here (resumable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    skip_bad_lines: SkipBadLines = False,
) -> None:
    """Answer a labelled question file and score retrieval, answers, citations, abstention and latency."""
    with errors():
        from rag.batch import read_questions
        from rag.evaluate import evaluate_questions
        from rag.render import render_report

        qs = read_questions(questions, skip_bad_lines)
        settings = opts.settings()
        assistant = opts.open(settings)
        with progress("answering") as update:
            done = iter(range(1, len(qs) + 1))
            report = evaluate_questions(
                assistant, qs, save, opts.k, on_answer=lambda q, r: update("answer", next(done), len(qs))
            )
        typer.echo(
            json.dumps(report, indent=2, ensure_ascii=False) if as_json else render_report(report, settings.generator)
        )


@app.command()
@answering
def serve(
    opts: AnswerOptions,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to listen on; anything but loopback needs RAG_SERVE_KEY or prints a warning."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    queue: Annotated[
        int, typer.Option("--queue", help="Questions that may wait for the model before new ones get 429.")
    ] = 256,
    generators: Annotated[
        str,
        typer.Option("--generators", help="Others a request may choose, comma-separated (extractive,local,openai)."),
    ] = "",
) -> None:
    """Serve the page, the JSON API and an OpenAI-compatible endpoint over HTTP (Ctrl-C stops)."""
    with errors():
        require_extra("serve", "fastapi", "uvicorn")
        from rag.serve.app import API_KEY_ENV, check_port, exposed_without_key, run_server

        check_port(host, port)
        enabled = enabled_generators(generators)
        key = os.environ.get(API_KEY_ENV) or None
        if exposed_without_key(host, key):
            err.print(
                f"[yellow]warning:[/yellow] listening on {host} with no API key: anyone who can reach this machine can ask. Set {API_KEY_ENV} to require one.",
                highlight=False,
                soft_wrap=True,
            )
        assistant = opts.open()
        err.print(
            f"serving {len(assistant.index.sentences)} sentences on http://{host}:{port}/ (API described at /openapi.json, OpenAI-compatible at /v1); Ctrl-C stops",
            highlight=False,
            soft_wrap=True,
        )
        run_server(assistant, host, port, api_key=key, max_waiting=queue, generators=enabled)


@app.command()
@answering
def mcp(opts: AnswerOptions) -> None:
    """Run an MCP server on stdin/stdout with one tool, ask_articles, for chat tools that speak MCP."""
    with errors():
        require_extra("serve", "mcp")
        from rag.serve.mcp import run_mcp

        run_mcp(opts.open())


app.command()(conflicts)


if __name__ == "__main__":
    run()
