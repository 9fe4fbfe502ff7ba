"""The page at `/` in a real headless Chromium (Debian's package, driven by Playwright: no browser
download). Skipped, saying how to install it, where Chromium is missing; `.ci/run` installs it."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from rag.evaluate import facts_found
from tests.serving import running

CHROMIUM = os.environ.get("RAG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: `apt-get install -y chromium` (or set RAG_CHROMIUM to its path)",
)
# Without these, Chromium keeps calling home, and this machine's closed network refuses it many times a second.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page(assistant):
    from playwright.sync_api import sync_playwright

    with running(assistant) as url, sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=QUIET)
        tab = browser.new_page()
        tab.goto(url)
        yield tab
        browser.close()


def ask(page, question: str) -> None:
    page.fill("#question", question)
    page.click("#submit")
    page.wait_for_function(
        "!document.getElementById('submit').disabled && document.getElementById('answer').textContent.length > 0"
    )


def test_an_answer_shows_markers_sources_and_the_highlighted_sentence(page, dev, assistant):
    q = next(q for q in dev if q.get("answerable") and q.get("answer_all"))
    ask(page, q["question"])
    answer = page.locator("#answer")
    assert facts_found(answer.inner_text(), q["answer_all"]) and "error" not in (answer.get_attribute("class") or "")
    sources = page.locator("#sources li")
    assert sources.count() >= 1 and sources.nth(0).inner_text().startswith("[1] ")
    page.locator("#answer .marker").first.click()
    mark = page.locator("#context mark")
    mark.wait_for()
    cited = assistant.ask(q["question"]).citations[0]
    assert mark.inner_text() == cited.text  # the first cited sentence, highlighted...
    context = page.locator("#context-text").inner_text()
    assert len(context) > len(cited.text)  # ...among its neighbours


def test_an_abstention_reads_as_such_not_as_an_error(page):
    ask(page, "What is the capital of Peru?")
    answer = page.locator("#answer")
    assert answer.get_attribute("class") == "abstained"
    assert answer.inner_text().startswith("The articles do not say.") and page.locator("#sources li").count() == 0


def test_a_decline_shows_what_the_documents_do_say_with_its_source(page):
    ask(page, "When did Microsoft and OpenAI reach an agreement on the investment terms?")
    answer = page.locator("#answer")
    assert answer.get_attribute("class") == "abstained"
    text = answer.inner_text()
    assert text.startswith("The articles do not say.") and "premise" in text and "What they do say:" in text
    assert "no agreement has been reached" in text and page.locator("#sources li").count() == 1


def test_sources_that_disagree_are_shown_and_open_in_context(page):
    ask(page, "Is OpenAI becoming a for-profit company?")
    box = page.locator("#conflicts")
    box.wait_for()
    text = box.inner_text()
    assert text.startswith("Sources disagree:") and "001_c3bc2e358454ff8d.txt:6" in text and "non-profit" in text
    box.locator(".side").filter(has_text="001_c3bc2e358454ff8d.txt:6").first.click()
    mark = page.locator("#context mark")
    mark.wait_for()
    assert "transition from a for-profit to a non-profit entity" in mark.inner_text()
    ask(page, "What is the capital of Peru?")  # an abstention clears the block
    assert not box.is_visible()


def test_the_phrase_that_answers_leads_the_answer_with_its_marker(page, assistant):
    question = "Who was meant to be OpenAI's only supplier of computing resources?"
    expected = assistant.ask(question)
    ask(page, question)
    lead = page.locator("#answer strong.phrase")
    lead.wait_for()
    assert expected.phrase is not None and lead.inner_text() == expected.phrase.text
    n = [c.key for c in expected.citations].index(expected.phrase.citation.key) + 1
    assert page.locator("#answer .marker").first.inner_text() == f"[{n}]"


def test_the_page_says_what_is_loaded(page, assistant):
    files, sentences = len(assistant.index.manifest["files"]), len(assistant.index.sentences)
    page.wait_for_function("document.getElementById('status').textContent.includes('loaded')")
    assert page.locator("#status").inner_text() == f"{files} documents, {sentences:,} sentences loaded"
