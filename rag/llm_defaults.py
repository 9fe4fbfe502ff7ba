"""Which of the LLM answer's checks and shapes are on when a setting is left unset: measured for the local
model, so on for it; unmeasured for API models, so off for them. One place, so a new check is one line."""

from __future__ import annotations

from .config import Settings

LOCAL_CONTEXT = 4  # measured in benchmarks/local_llm.py: see Settings.context_sentences
API_CONTEXT = 8


def runs_locally(settings: Settings) -> bool:
    """The generator is the local model served by llama.cpp (``llama`` is its old name)."""
    return settings.generator in ("local", "llama")


def context_sentences(settings: Settings) -> int:
    """Settings.context_sentences, or by default: 4 for the local model, whose prompt evaluation is most of
    the wait for its first sentence, 8 for API models."""
    if settings.context_sentences is not None:
        return settings.context_sentences
    return LOCAL_CONTEXT if runs_locally(settings) else API_CONTEXT


def agree_first(settings: Settings) -> bool:
    """Settings.agree_first, or by default: on for the local model (measured to help it), off for API models."""
    return _on_for_local(settings, settings.agree_first)


def cross_check(settings: Settings) -> bool:
    """Settings.cross_check, or by default: on for the local model (measured to help it), off for API models."""
    return _on_for_local(settings, settings.cross_check)


def reader_check(settings: Settings) -> bool:
    """Settings.reader_check, or by default: on for the local model (measured to help it), off for API models."""
    return _on_for_local(settings, settings.reader_check)


def complete_answer(settings: Settings) -> bool:
    """Settings.complete_answer, or by default: on for the local model (measured to help it), off for API models."""
    return _on_for_local(settings, settings.complete_answer)


def source_wording(settings: Settings) -> bool:
    """Settings.source_wording, or by default: on for the local model (measured to help it), off for API models."""
    return _on_for_local(settings, settings.source_wording)


def _on_for_local(settings: Settings, chosen: bool | None) -> bool:
    """A check's setting as chosen, or by default on for the local model and off for API models."""
    return runs_locally(settings) if chosen is None else chosen
