"""Conflicting sources: the rules on each kind and on look-alikes, the seeds' real disagreement found at
index time and shown under an answer, the JSON record, `rag conflicts`, incremental updates, and the
LLM judge through a real local chat server."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from rag.assistant import Assistant
from rag.build import build_and_load
from rag.cli.main import app
from rag.conflicts.rules import judge, quantities
from rag.conflicts.scan import LLM_CONFIDENCE, corpus_conflicts, judged_with_llm
from rag.index import load_index

from .chat_server import ChatServer

NONPROFIT = "001_c3bc2e358454ff8d.txt:6"  # "...transition from a for-profit to a non-profit entity..."
FIRST = "000_804249f35b507f04.txt:18"  # "Microsoft first invested $1 billion in OpenAI in 2019."
TOTAL = "001_c3bc2e358454ff8d.txt:18"  # "...raised Microsoft's total stake to over $10 billion."
runner = CliRunner()


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        (
            "Microsoft first invested $1 billion in OpenAI in 2019.",
            "Microsoft first invested $2 billion in OpenAI in 2019.",
            "figure",
        ),
        (
            "Microsoft first invested $1 billion in OpenAI in 2019.",
            "Microsoft first invested $1 billion in OpenAI in 2017.",
            "date",
        ),
        (
            "OpenAI plans to cut Microsoft's revenue share from 20% to 10% by 2030.",
            "OpenAI plans to cut Microsoft's revenue share from 10% to 20% by 2030.",
            "direction",
        ),
        (
            "OpenAI announced its decision to transition from a for-profit to a non-profit entity.",
            "OpenAI seeks approval for its transformation into a profit-making company.",
            "direction",
        ),
        (
            "Microsoft has granted approval for the transformation.",
            "Microsoft has not granted approval for the transformation.",
            "negation",
        ),
        (
            "Despite months of negotiations, Microsoft has yet to grant approval.",
            "After months of negotiations, Microsoft has granted approval.",
            "negation",
        ),
        (
            "OpenAI plans to reduce the revenue share allocated to Microsoft.",
            "OpenAI plans to raise the revenue share allocated to Microsoft.",
            "antonym",
        ),
        ("Microsoft invested heavily in OpenAI in 2019.", "OpenAI invested heavily in Microsoft in 2019.", "reversed"),
        (
            "Analysts say this could end Microsoft's six-year-long partnership with OpenAI.",
            "Analysts say this could end Microsoft's ten-year-long partnership with OpenAI.",
            "figure",
        ),
    ],
)
def test_each_kind_of_conflict_is_caught(a, b, kind):
    verdict = judge(a, b)
    assert verdict is not None and verdict.kind == kind, verdict
    assert judge(b, a) is not None  # the order of the two sources does not matter


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "Microsoft first invested $1 billion in OpenAI in 2019.",
            "Subsequent investments have raised Microsoft's total stake to over $10 billion.",
        ),
        (
            "Microsoft first invested $1 billion in OpenAI in 2019.",
            "Microsoft initially invested $1 billion in OpenAI in 2019 to support AI development.",
        ),
        (
            "Last year, Microsoft's share of OpenAI's revenue was 20%.",
            "This year, Microsoft's share of OpenAI's revenue is 10%.",
        ),
        (
            "Microsoft first invested $1 billion in OpenAI in 2019.",
            "Microsoft invested a further $10 billion in OpenAI in 2023.",
        ),
        (
            "Subsequent investments have raised Microsoft's total stake to over $10 billion.",
            "Subsequent investments have raised Microsoft's total stake to $13 billion.",
        ),
        ("Google invested $2 billion in Anthropic.", "Amazon invested $4 billion in Anthropic."),
        (
            "Microsoft has exclusive rights to sell OpenAI software tools on its Azure cloud platform.",
            "OpenAI has relied exclusively on Microsoft's Azure cloud platform for its computing needs.",
        ),
    ],
)
def test_look_alikes_are_not_conflicts(a, b):
    assert judge(a, b) is None


def test_a_figure_without_a_named_subject_is_left_to_an_llm():
    # Census sentences of two cities' articles: the sentence alone does not say whose figure it is.
    a, b = "The median age was 34 years.", "The median age was 28 years."
    assert judge(a, b) is None
    unsure = judge(a, b, unsure=True)
    assert unsure is not None and unsure.kind == "figure" and not unsure.sure
    asked = []
    verdict = judged_with_llm(lambda prompt: asked.append(prompt) or "Yes", a, b)
    assert len(asked) == 1 and a in asked[0] and verdict is not None and verdict.kind == "figure"
    assert judged_with_llm(lambda prompt: "No", a, b) is None


def test_quantities_read_units_scales_and_bounds():
    q = {
        x.text: x
        for x in quantities("It paid over $1.5 billion, 20% of it in May 2019, for six-year rights and 3 stores.")
    }
    assert q["$1.5 billion"].value == 1.5e9 and q["$1.5 billion"].unit == "$" and q["$1.5 billion"].bound == "at_least"
    assert q["20%"].unit == "%" and q["2019"].unit == "calendar" and q["six"].unit == "year" and q["3"].unit == "store"


def test_the_seeds_disagreement_is_found_at_index_time_and_the_look_alike_is_not(index_dir, settings):
    index = load_index(index_dir, settings)
    pairs = [{r["a"], r["b"]} for r in index.conflicts]
    assert pairs and all(NONPROFIT in p for p in pairs)  # one article against the others
    assert {FIRST, TOTAL} not in pairs
    assert {r["kind"] for r in index.conflicts} == {"direction"}


def test_an_answer_citing_the_disputed_sentence_shows_the_disagreement(assistant):
    answer = assistant.ask("Is OpenAI becoming a for-profit company?")
    assert not answer.abstained and answer.conflicts
    assert NONPROFIT in {c.key for c in answer.citations}
    sides = {c.key for x in answer.conflicts for c in x.citations}
    assert NONPROFIT in sides and len({k.split(":")[0] for k in sides}) >= 2
    record = answer.to_dict()["conflicts"][0]
    assert set(record) == {"kind", "summary", "confidence", "judge", "citations"}
    cited = record["citations"]
    assert len(cited) == 2 and all(set(c) >= {"file", "sentence", "start", "end", "text"} for c in cited)
    assert 0 < record["confidence"] <= 1 and record["judge"] == "rules"


def test_an_answer_shows_only_the_disagreements_of_sentences_it_cites(assistant):
    """Issue 33: a disagreement two sentences from a cited one is about something the answer never said."""
    for question in ("What change of structure is OpenAI planning?", "How is OpenAI's structure changing?"):
        answer = assistant.ask(question)
        cited = {c.key for c in answer.citations}
        assert all(cited & {c.key for c in x.citations} for x in answer.conflicts), question


def test_answers_away_from_the_disagreement_show_none(assistant):
    for question in ("How much did Microsoft invest in OpenAI in total?", "Who is the CEO of Microsoft?"):
        answer = assistant.ask(question)
        assert not answer.abstained and answer.conflicts == (), question


def test_rag_ask_prints_the_sources_that_disagree(tmp_path, index_dir):
    shutil.copytree(index_dir, tmp_path / "ix")
    result = runner.invoke(
        app, ["ask", "Is OpenAI becoming a for-profit company?", "--index-dir", str(tmp_path / "ix")]
    )
    assert result.exit_code == 0, result.output
    block = result.stdout.split("Sources disagree:", 1)[1]
    assert NONPROFIT in block and "non-profit" in block


def test_rag_conflicts_lists_them_as_text_and_json(tmp_path, index_dir):
    shutil.copytree(index_dir, tmp_path / "ix")
    text = runner.invoke(app, ["conflicts", "--index-dir", str(tmp_path / "ix")])
    assert text.exit_code == 0, text.output
    assert NONPROFIT in text.stdout and "direction" in text.stdout
    as_json = runner.invoke(app, ["conflicts", "--json", "--index-dir", str(tmp_path / "ix")])
    rows = json.loads(as_json.stdout)
    assert rows and [r["confidence"] for r in rows] == sorted((r["confidence"] for r in rows), reverse=True)
    none = runner.invoke(app, ["conflicts", "--min-confidence", "0.99", "--index-dir", str(tmp_path / "ix")])
    assert none.exit_code == 0 and "No conflicts found among 5 files" in none.stdout
    bad = runner.invoke(app, ["conflicts", "--judge", "llm", "--index-dir", str(tmp_path / "ix")])
    assert bad.exit_code == 1 and "--generator local" in bad.stderr


def test_an_edit_that_ends_the_disagreement_removes_it_and_matches_a_rebuild(tmp_path, corpus, settings, embedder):
    folder = tmp_path / "seeds"
    shutil.copytree(corpus, folder)
    build_and_load(folder, tmp_path / "ix", settings, embedder)
    # A new source gives another figure for the first investment: a conflict appears, and only the new
    # file is embedded.
    (folder / "005_new.txt").write_text("Microsoft first invested $2 billion in OpenAI in 2019.\n", encoding="utf-8")
    report, index = build_and_load(folder, tmp_path / "ix", settings, embedder)
    assert report.embedded_files == ["005_new.txt"]
    figure = [r for r in index.conflicts if r["kind"] == "figure"]
    assert {frozenset((r["a"], r["b"])) for r in figure} >= {frozenset((FIRST, "005_new.txt:1"))}
    # The non-profit article is corrected: its conflicts go, the others stay.
    path = folder / NONPROFIT.split(":")[0]
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "from a for-profit to a non-profit entity", "to a public-benefit corporation"
        ),
        encoding="utf-8",
    )
    report, index = build_and_load(folder, tmp_path / "ix", settings, embedder)
    assert report.embedded_files == [path.name]
    assert not any(NONPROFIT in (r["a"], r["b"]) for r in index.conflicts)
    assert any(r["kind"] == "figure" for r in index.conflicts)
    _, rebuilt = build_and_load(folder, tmp_path / "fresh", settings, embedder)
    assert index.conflicts == rebuilt.conflicts


def test_the_llm_judge_decides_what_the_rules_leave_open(index_dir, settings):
    server = ChatServer()
    # The model calls the Windsurf pairs a contradiction, and nothing else.
    server.script = lambda request: {"reply": "Yes." if "Windsurf" in request["messages"][-1]["content"] else "No."}
    try:
        assistant = Assistant.from_index(
            index_dir, settings.replace(generator="openai", model="m", base_url=server.base_url, api_key="k")
        )
        found = corpus_conflicts(assistant.index, 0.0, assistant.completer())
    finally:
        server.close()
    by_llm = [c for c in found if c.judge == "llm"]
    assert by_llm and all("Windsurf" in c.citations[0].text + c.citations[1].text for c in by_llm)
    assert all(c.confidence == LLM_CONFIDENCE and c.kind == "other" for c in by_llm)
    assert any(c.judge == "rules" for c in found)
    prompts = [r["messages"][-1]["content"] for r in server.requests]
    assert prompts and not any(
        "non-profit" in p and "profit-making" in p for p in prompts
    )  # decided by rules, not asked


def test_a_document_and_its_copy_in_another_form_never_disagree(tmp_path, corpus, settings, embedder):
    folder = tmp_path / "seeds"
    shutil.copytree(corpus, folder)
    first_file = FIRST.split(":")[0]
    text = (folder / first_file).read_text(encoding="utf-8")
    # The same article as another extraction gives it: wrapped differently, a figure read with a footnote
    # marker glued on ("$1 billion3"), which the rules would read as another amount.
    copy = text.replace("$1 billion", "$1 billion3").replace(". ", ".\n")
    assert copy != text
    (folder / "copy_of_first.md").write_text(copy, encoding="utf-8")
    _, index = build_and_load(folder, tmp_path / "ix", settings, embedder)
    assert not [r for r in index.conflicts if "copy_of_first.md" in (r["a"].split(":")[0], r["b"].split(":")[0])]
    # Its disagreements with other articles are still found once, from the original.
    assert any(NONPROFIT in (r["a"], r["b"]) for r in index.conflicts)
