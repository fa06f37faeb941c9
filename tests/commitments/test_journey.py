"""The lead records the race action plan's recruitment commitment from a public document attached to the letter,
with a baseline and a target, adds two evidence updates (behind, then on track), publishes, and reads the chart
and its table on the public page. axe finds nothing on any page; the chart is kept as a screenshot."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from backend.responses import tracking
from tests.publishing.helpers import ready_letter

pytestmark = pytest.mark.browser

TODAY = tracking.today()
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp"))


def _no_violations(page) -> None:
    """Stricter than the shared check: no axe violation of any impact."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response.get("violations", [])
    assert not found, f"axe found on {page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at {[n.get('target') for n in v.get('nodes', [])][:3]}"
        for v in found)


def test_record_measure_and_publish_a_commitment(page, db, make_user, axe_check):
    ready = ready_letter(db, make_user)
    lead, letter = ready.lead, ready.letter
    page.goto("/login")
    page.get_by_label("Email address").fill(lead.email)
    page.get_by_label("Password").fill(lead.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()

    # From the campaigns page to the letter's commitments.
    page.goto("/campaigns")
    page.get_by_role("link", name="Right to protest", exact=True).click()
    page.get_by_role("link", name=letter.title).click()
    page.get_by_role("navigation", name="This letter").get_by_role("link", name="Commitments").click()
    page.get_by_role("heading", name="Commitments and their figures").wait_for()
    _no_violations(page)

    # Attach the action plan; a mistake first, shown beside its field.
    page.get_by_label("Title", exact=True).fill("A New Met for London: race action plan")
    page.get_by_label("Published by").fill("Metropolitan Police Service")
    page.get_by_label("Date published").fill((TODAY - timedelta(days=800)).isoformat())
    page.get_by_label("Link to the document").fill("https://met-police.example/race-action-plan")
    page.get_by_role("button", name="Attach the document").click()
    page.get_by_text("is attached to the letter").wait_for()

    # Record the commitment with its numbers: 22% two years ago, 40% three years from now.
    page.get_by_label("Where it was promised").select_option(label="A New Met for London: race action plan "
                                                                   "(Metropolitan Police Service)")
    page.get_by_label("What was promised").fill("40% of new recruits from ethnic minority backgrounds")
    page.get_by_label("What is counted").fill("Share of new recruits from ethnic minority backgrounds")
    page.get_by_label("Unit", exact=True).select_option("percent")
    page.get_by_label("Direction").select_option("up")
    page.get_by_label("Baseline figure").fill("22")
    page.get_by_label("Baseline as of").fill((TODAY - timedelta(days=730)).isoformat())
    page.get_by_label("Source of the baseline").fill("https://met-police.example/workforce-2022")
    page.get_by_label("Target figure").fill("forty")
    page.get_by_label("Target date").fill((TODAY + timedelta(days=1095)).isoformat())
    page.get_by_role("button", name="Record the commitment").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    assert "Enter the target figure as a number" in page.locator(".error-summary").inner_text()
    _no_violations(page)
    page.get_by_label("Target figure").fill("40")
    page.get_by_role("button", name="Record the commitment").click()
    page.get_by_text("The commitment has been recorded.").wait_for()
    _no_violations(page)
    assert page.locator(".standing").first.inner_text() == "No data"

    # First update, a year after the baseline: 24% where the line is at 25.6%: behind.
    def update(days_ago: int, figure: str, note: str) -> None:
        page.get_by_label("Date", exact=True).fill((TODAY - timedelta(days=days_ago)).isoformat())
        page.get_by_role("textbox", name="Figure (optional)", exact=True).fill(figure)
        page.get_by_role("textbox", name="Source link (optional)", exact=True).fill(
            "https://met-police.example/workforce")
        page.get_by_role("textbox", name="Note (optional)", exact=True).fill(note)
        page.get_by_role("button", name="Add the update").click()
        page.get_by_text("The update has been added.").wait_for()

    update(365, "24", "Annual workforce figures")
    assert page.locator(".standing").first.inner_text() == "Behind"
    assert "short of the 25.6% a straight line" in page.locator(".commitment-summary").inner_text()
    # Today: 31% where the line is at 29.2%: on track.
    update(0, "31", "Half-year figures")
    assert page.locator(".standing").first.inner_text() == "On track"
    _no_violations(page)
    page.screenshot(path=str(SHOTS / "commitment-page.png"), full_page=True)

    # Publish, then read it where the public does.
    page.get_by_role("link", name="Commitments: Protect the right to protest").click()
    page.get_by_role("navigation", name="This letter").get_by_role("link", name="Publish").click()
    page.get_by_role("button", name="Publish now").click()
    page.get_by_role("link", name="See the public page").click()
    page.context.clear_cookies()
    page.reload()
    page.get_by_role("heading", name=letter.title, level=1).wait_for()
    axe_check(page)
    _no_violations(page)
    card = page.locator(".measured-commitment").first
    assert card.locator(".standing").inner_text() == "On track"
    # The chart is an image named by its title and described by the same words as the summary beside it.
    chart = card.get_by_role("img", name="Share of new recruits from ethnic minority backgrounds: progress towards 40%")
    assert chart.count() == 1
    assert "at or ahead of the 29.2%" in (card.locator("svg desc").text_content() or "")
    rows = card.locator("table.commitment-data tbody tr")
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())] == [
        "22%", "24%", "31%", "40%"]
    assert "A New Met for London: race action plan" in card.locator(".commitment-source").inner_text()
    page.get_by_role("link", name="Atom feed of commitment updates").wait_for()
    out = SHOTS / "commitment-chart.png"
    card.screenshot(path=str(out))
    assert out.stat().st_size > 5000
    # On a 375 px phone the chart scales down and nothing makes the page scroll sideways.
    page.set_viewport_size({"width": 375, "height": 800})
    card.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert chart.bounding_box()["width"] <= 375
    card.screenshot(path=str(SHOTS / "commitment-chart-phone.png"))
