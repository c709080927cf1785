"""End to end in a real browser: Debian's headless Chromium driven by Playwright completes a
whole session (1 s clips, played to the end for real), reloads mid-way and resumes, and the
stored rows match what was clicked. Saves a screenshot of each page type: into a temporary folder,
or into $HAFM_SCREENSHOTS_DIR when set (``nox -s screenshots`` regenerates the committed
results/listening_screenshots/ so)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS_ENV = "HAFM_SCREENSHOTS_DIR"
PAGES = ["consent", "done", "setup", "trial", "trial_phone"]
PLAY_TIMEOUT_MS = 20_000


# What the browser answers on trial k: preference and the six ratings (A then B).
def choice(k: int) -> tuple[str, list[int]]:
    return ("A" if k % 2 == 0 else "B"), [1 + (k + j) % 5 for j in range(6)]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {message}")
    pytest.skip(message)


@contextlib.contextmanager
def serving(app):
    """The app on a free local port in a thread; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def server(make_app):
    app = make_app()
    with serving(app) as base:
        yield app, base


@pytest.fixture
def shots(tmp_path) -> Path:
    """The screenshot folder: $HAFM_SCREENSHOTS_DIR, else a temporary one (a test run writes nothing
    into the repository)."""
    return Path(os.environ.get(SHOTS_ENV) or tmp_path / "screenshots")


@pytest.fixture
def page():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1000, "height": 900})
        yield context.new_page()
        browser.close()


def shot(page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # The completion code is random per session: masking it keeps the committed screenshot stable.
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, mask=[page.locator("#completion-code")])


def play(page, player) -> None:
    """Play with the keyboard (focus + Enter) and wait until the server confirmed the end."""
    button = player.locator("button.play")
    button.wait_for(state="visible")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle(), timeout=PLAY_TIMEOUT_MS)
    button.focus()
    page.keyboard.press("Enter")
    player.locator(".status", has_text="Played to the end").wait_for(timeout=PLAY_TIMEOUT_MS)


def do_setup(page, shots: Path) -> None:
    players = page.locator(".player")
    play(page, players.nth(0))
    for k, fs in enumerate(page.locator("fieldset.screen").all()):
        play(page, fs.locator(".player"))
        fs.locator("input[type=radio]").nth(k % 3).check()
        page.wait_for_function("fs => fs.dataset.answer", arg=fs.element_handle())
    shot(page, shots, "setup")
    page.click("#start")


def do_trial(page, k: int, shots: Path) -> None:
    page.locator(f'form#answer[data-trial="{k}"]').wait_for()
    for player in page.locator(".player").all():
        play(page, player)
    pref, scores = choice(k)
    page.check(f'input[name="preference"][value="{pref}"]')
    names = [f"{a}_{s}" for s in ("A", "B") for a in ("rhythm", "harmony", "coherence")]
    for name, score in zip(names, scores):
        page.check(f'input[name="{name}"][value="{score}"]')
    if k == 0:
        shot(page, shots, "trial")
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shot(page, shots, "trial_phone")
        page.set_viewport_size({"width": 1000, "height": 900})
    with page.expect_navigation():
        page.click("form#answer button[type=submit]")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_completes_a_session_with_a_reload(server, page, rows, shots):
    _, base = server
    page.goto(f"{base}/?PROLIFIC_PID=BROWSER_1")
    shot(page, shots, "consent")
    page.check("input[name=agree]")
    page.click("button[type=submit]")
    do_setup(page, shots)
    n = rows("SELECT n_trials FROM sessions")[0][0]
    for k in range(n):
        do_trial(page, k, shots)
        if k == 1:  # reload mid-way: the page comes back at the next unanswered trial
            page.reload()
            assert page.locator("label[for=progress]").inner_text() == f"Trial 3 of {n}"
    page.locator("#completion-code").wait_for()
    shot(page, shots, "done")
    code = page.locator("#completion-code").inner_text().strip()
    stored = rows("SELECT position, preference, ratings, plays_a, plays_b FROM judgments ORDER BY position")
    order = [f"{a}_{s}" for s in "ab" for a in ("rhythm", "harmony", "coherence")]
    assert [(r[0], r[1], [json.loads(r[2])[c] for c in order]) for r in stored] == [(k, *choice(k)) for k in range(n)]
    assert all(r[3] >= 1 and r[4] >= 1 for r in stored)
    assert rows("SELECT completion_code FROM sessions")[0][0] == code
    assert re.fullmatch(r"[0-9A-F]{10}", code)
    assert sorted(p.stem for p in shots.glob("*.png")) == PAGES


CUSTOM_CONSENT = "This **melody study** is run by the test suite; nothing is kept."
CUSTOM_QUESTIONS = [("melody", "Does the melody of the accompaniment suit the voice?"),
                    ("groove", "Does the accompaniment groove with the voice?")]


@pytest.fixture
def custom_server(make_app):
    """A study file's own consent text and two 1-7 questions (webMUSHRA-style configuration)."""
    from listening_test.study_file import Question, TextConfig

    questions = [Question(id=q, name=q.capitalize(), prompt=prompt, min=1, max=7) for q, prompt in CUSTOM_QUESTIONS]
    with serving(make_app(questions=questions, text=TextConfig(consent=CUSTOM_CONSENT))) as base:
        yield base


@pytest.mark.browser
@pytest.mark.slow
def test_browser_shows_a_study_files_consent_questions_and_scales(custom_server, page, shots):
    folder = shots / "custom_study"
    page.goto(f"{custom_server}/?PROLIFIC_PID=BROWSER_2")
    assert "melody study" in page.locator("body").inner_text()
    shot(page, folder, "consent")
    page.check("input[name=agree]")
    page.click("button[type=submit]")
    do_setup(page, folder)
    page.locator('form#answer[data-trial="0"]').wait_for()
    text = page.locator("body").inner_text()
    assert all(prompt in text for _, prompt in CUSTOM_QUESTIONS)
    assert "rhythm" not in text.lower()
    for qid, _ in CUSTOM_QUESTIONS:
        for side in "AB":
            values = page.locator(f'input[name="{qid}_{side}"]').evaluate_all("els => els.map(e => e.value)")
            assert values == [str(v) for v in range(1, 8)]
            tops = page.locator(f'input[name="{qid}_{side}"]').evaluate_all(
                "els => els.map(e => Math.round(e.getBoundingClientRect().top))")
            assert len(set(tops)) == 1, f"the 7 points of {qid} {side} wrap onto several rows: {tops}"
    shot(page, folder, "trial")


def test_missing_browser_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI"):
        require_chromium()


def test_missing_browser_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        require_chromium()
