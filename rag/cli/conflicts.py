"""``rag conflicts``: the statements in different articles that disagree, most certain first."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from rag.cli.common import AnswerOptions, answering, errors


@answering
def conflicts(
    opts: AnswerOptions,
    as_json: Annotated[bool, typer.Option("--json", help="Print the conflicts as a JSON array.")] = False,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0.0, max=1.0, help="Only conflicts at least this certain.")
    ] = 0.0,
    judge: Annotated[
        str,
        typer.Option(
            "--judge",
            help="rules (found at index time; instant) or llm (also asks the --generator model about the pairs the rules leave open).",
        ),
    ] = "rules",
) -> None:
    """List the statements in different articles that disagree, most certain first."""
    with errors():
        from rag.conflicts.scan import corpus_conflicts
        from rag.render import render_conflicts
        from rag.types import ConfigError

        if judge not in ("rules", "llm"):
            raise ConfigError(f"--judge must be rules or llm, not {judge!r}")
        settings = opts.settings()
        if judge == "llm" and settings.generator == "extractive":
            raise ConfigError("--judge llm needs a model: add --generator local (or api, with --model and --base-url)")
        if judge == "llm" or opts.corpus is not None:
            assistant = opts.open(settings)  # brings the index up to date; the LLM loads on first prompt
            index, complete = assistant.index, assistant.completer() if judge == "llm" else None
        else:
            from rag.index.loaded import load_index

            index, complete = load_index(opts.index_dir, settings), None  # as last indexed: no model to load
        found = corpus_conflicts(index, min_confidence, complete)
        if as_json:
            typer.echo(json.dumps([c.to_dict() for c in found], indent=2, ensure_ascii=False))
        elif found:
            typer.echo(
                render_conflicts(
                    found,
                    heading=f"{len(found)} conflicting pair{'s' if len(found) != 1 else ''} among {len(index.manifest['files'])} files:",
                )
            )
        else:
            typer.echo(
                f"No conflicts found among {len(index.manifest['files'])} files"
                + (f" at confidence {min_confidence:g} or more." if min_confidence else ".")
            )
