"""Measured commitments through the pages: public documents, numbers, evidence updates and corrections, bad
input, who may do what, and what the public page, the API, the feed and commitments.csv show."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, timedelta

from sqlmodel import select

from backend.commitments.models import CommitmentMeasure, EvidenceRevision, PublicDocument
from backend.responses import tracking
from backend.responses.models import Commitment, CommitmentEvidence
from tests.publishing.helpers import build_documents, ready_letter
from tests.responses.test_routes import coalition  # noqa: F401 (a fixture)

TODAY = tracking.today()


def fresh(db):
    """The test's session with its read transaction ended, so it sees what the app committed since."""
    db.commit()
    return db

BASELINE_ON = TODAY - timedelta(days=730)
TARGET_ON = TODAY + timedelta(days=365)


def _record(client, post, slug, *, doc=True, **numbers):
    if doc:
        answer = post(client, f"/letters/{slug}/documents", {
            "doc-title": "A New Met for London: race action plan", "doc-publisher": "Metropolitan Police",
            "doc-published_on": (TODAY - timedelta(days=800)).isoformat(),
            "doc-url": "https://www.met.police.uk/race-action-plan"}, page=f"/letters/{slug}/commitments")
        assert answer.status_code == 303, answer.text
    page = client.get(f"/letters/{slug}/commitments").text
    source = page.split('name="source"')[1].split('value="')[1].split('"')[0]
    data = {"source": source, "text": "40% of new recruits from ethnic minority backgrounds",
            "metric": "Share of new recruits from ethnic minority backgrounds", "unit": "percent",
            "direction": "up", "baseline_value": "21", "baseline_on": BASELINE_ON.isoformat(),
            "baseline_url": "https://www.met.police.uk/baseline", "target_value": "40",
            "target_on": TARGET_ON.isoformat()} | numbers
    return post(client, f"/letters/{slug}/commitments", data, page=f"/letters/{slug}/commitments")


def _update(client, post, slug, cid, day, value, note="Reported", link="https://www.met.police.uk/figures"):
    return post(client, f"/letters/{slug}/commitments/{cid}/updates",
                {"noted_on": day.isoformat(), "value": value, "note": note, "link": link, "status": "in_progress"},
                page=f"/letters/{slug}/commitments/{cid}")


def test_a_commitment_from_a_public_document_with_numbers_and_updates(client, db, coalition, login, post):  # noqa: F811
    login(client, coalition["lead"])
    slug = coalition["letter"].slug
    answer = _record(client, post, slug)
    assert answer.status_code == 303, answer.text
    assert "/commitments/" in answer.headers["location"], answer.headers["location"]
    commitment = fresh(db).exec(select(Commitment)).one()
    assert commitment.document_id is not None and commitment.response_id is None
    measure = fresh(db).exec(select(CommitmentMeasure)).one()
    assert (measure.baseline_value, measure.target_value, measure.unit) == (21, 40, "percent")
    # Two updates: 24% a year after the baseline (the line is at ~27.3%), then 33% now (line at ~33.7%).
    assert _update(client, post, slug, commitment.id, BASELINE_ON + timedelta(days=365), "24%").status_code == 303
    assert _update(client, post, slug, commitment.id, TODAY, "33").status_code == 303
    page = client.get(f"/letters/{slug}/commitments/{commitment.id}").text
    assert "Behind" in page and "<svg" in page and "Figures for" in page
    assert _update(client, post, slug, commitment.id, TODAY, "34.5").status_code == 303
    page = client.get(f"/letters/{slug}/commitments/{commitment.id}").text
    assert "On track" in page and "34.5%" in page


def test_an_edit_keeps_the_earlier_value(client, db, coalition, login, post):  # noqa: F811
    login(client, coalition["lead"])
    slug = coalition["letter"].slug
    _record(client, post, slug)
    commitment = fresh(db).exec(select(Commitment)).one()
    _update(client, post, slug, commitment.id, TODAY - timedelta(days=10), "30")
    evidence = fresh(db).exec(select(CommitmentEvidence)).one()
    url = f"/letters/{slug}/commitments/{commitment.id}/updates/{evidence.id}/edit"
    assert 'value="30"' in client.get(url).text
    bad = post(client, url, {"noted_on": "2024-02-31", "value": "thirty", "note": "", "link": "ftp://x"})
    assert bad.status_code == 422
    assert "real date" in bad.text and "as a number" in bad.text and "https://" in bad.text
    assert 'value="thirty"' in bad.text
    good = post(client, url, {"noted_on": (TODAY - timedelta(days=10)).isoformat(), "value": "31.5",
                              "note": "Corrected figure", "link": "https://www.met.police.uk/corrected"})
    assert good.status_code == 303
    fresh(db).refresh(evidence)
    assert evidence.value == 31.5
    revision = fresh(db).exec(select(EvidenceRevision)).one()
    assert json.loads(revision.snapshot)["value"] == 30
    page = client.get(f"/letters/{slug}/commitments/{commitment.id}").text
    assert "Corrected 1 time" in page and "figure 30%" in page and "31.5%" in page


def test_bad_input_is_shown_beside_the_fields(client, db, coalition, login, post):  # noqa: F811
    login(client, coalition["lead"])
    slug = coalition["letter"].slug
    bad_doc = post(client, f"/letters/{slug}/documents", {"doc-title": "", "doc-publisher": "Met",
                                                           "doc-published_on": "soon", "doc-url": "javascript:x"},
                   page=f"/letters/{slug}/commitments")
    assert bad_doc.status_code == 422
    assert "Enter the title" in bad_doc.text and "real date" in bad_doc.text and "https://" in bad_doc.text
    assert fresh(db).exec(select(PublicDocument)).all() == []
    answer = _record(client, post, slug, target_value="15", target_on=(BASELINE_ON - timedelta(days=1)).isoformat(),
                     baseline_value="abc")
    assert answer.status_code == 422
    assert "as a number" in answer.text and 'value="abc"' in answer.text
    assert fresh(db).exec(select(Commitment)).all() == []
    answer = _record(client, post, slug, doc=False, target_value="", target_on="")
    assert answer.status_code == 422 and "Enter the target figure" in answer.text
    answer = _record(client, post, slug, doc=False, target_value="20")
    assert answer.status_code == 422 and "above the baseline" in answer.text
    # Without a metric it is a commitment without numbers, as before.
    answer = _record(client, post, slug, doc=False, metric="")
    assert answer.status_code == 303
    commitment = fresh(db).exec(select(Commitment)).one()
    assert fresh(db).exec(select(CommitmentMeasure)).all() == []
    no_numbers = _update(client, post, slug, commitment.id, TODAY, "12")
    assert no_numbers.status_code == 422 and "has no numbers" in no_numbers.text
    future = _update(client, post, slug, commitment.id, TODAY + timedelta(days=3), "")
    assert future.status_code == 422 and "cannot be in the future" in future.text


def test_viewers_read_and_outsiders_are_refused(client, db, coalition, login, post):  # noqa: F811
    login(client, coalition["lead"])
    slug = coalition["letter"].slug
    _record(client, post, slug)
    commitment = fresh(db).exec(select(Commitment)).one()
    # Without the form's CSRF token, even the lead is refused.
    forged = client.post(f"/letters/{slug}/commitments/{commitment.id}/updates",
                         data={"noted_on": TODAY.isoformat(), "value": "50"})
    assert forged.status_code == 403
    assert fresh(db).exec(select(CommitmentEvidence)).all() == []
    client.cookies.clear()
    login(client, coalition["viewer"])
    page = client.get(f"/letters/{slug}/commitments/{commitment.id}")
    assert page.status_code == 200 and "Add an update" not in page.text
    answer = post(client, f"/letters/{slug}/commitments/{commitment.id}/updates",
                  {"noted_on": TODAY.isoformat(), "value": "50"}, page=f"/letters/{slug}/commitments")
    assert answer.status_code == 403
    client.cookies.clear()
    login(client, coalition["outsider"])  # the same 404 as for a letter that does not exist (issue 15)
    assert client.get(f"/letters/{slug}/commitments").status_code == 404
    assert client.get(f"/letters/{slug}/commitments/{commitment.id}").status_code == 404


def test_public_page_api_feed_and_csv_carry_the_same_numbers(client, db, make_user, login, post, engine):
    from backend.publishing import service as publishing

    ready = ready_letter(db, make_user)
    publishing.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    login(client, ready.lead)
    slug = ready.letter.slug
    assert _record(client, post, slug).status_code == 303
    commitment = fresh(db).exec(select(Commitment)).one()
    _update(client, post, slug, commitment.id, BASELINE_ON + timedelta(days=365), "24", note="=cmd|' /C calc'!A0")
    _update(client, post, slug, commitment.id, TODAY, "33")
    client.cookies.clear()
    page = client.get(f"/letters/{slug}").text
    assert "40% of new recruits" in page and "<svg" in page and "Behind" in page
    assert "Figures for “Share of new recruits" in page and "A New Met for London" in page
    assert f'href="/letters/{slug}/commitments.atom"' in page
    # The timeline of what happened since: the promise in the plan, and the figures reported.
    assert "Commitment in “A New Met for London: race action plan” (Metropolitan Police)" in page
    assert "Figure reported: 33% for “40% of new recruits" in page
    api = client.get(f"/api/v1/letters/{slug}/commitments").json()
    assert len(api) == 1
    item = api[0]
    assert item["document"]["publisher"] == "Metropolitan Police" and item["response_id"] is None
    assert item["measure"]["baseline_value"] == 21 and item["measure"]["target_value"] == 40
    assert [e["value"] for e in item["evidence"]] == [24, 33]
    assert item["standing"]["state"] == "behind" and item["standing"]["latest_value"] == 33
    build_documents(engine)  # the worker's job
    rows = list(csv.DictReader(io.StringIO(client.get(f"/letters/{slug}/press/commitments.csv").text)))
    assert [(r["row"], r["date"], float(r["value"])) for r in rows] == [
        ("baseline", item["measure"]["baseline_on"], item["measure"]["baseline_value"]),
        *[("update", e["noted_on"], e["value"]) for e in item["evidence"]],
        ("target", item["measure"]["target_on"], item["measure"]["target_value"]),
    ]
    assert {r["standing"] for r in rows} == {"behind"}
    assert rows[1]["note"].startswith("'=")  # no formula for a spreadsheet to run
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/letters/{slug}/press-pack.zip").content))
    assert archive.read(f"{slug}-press-pack/commitments.csv").decode() == client.get(
        f"/letters/{slug}/press/commitments.csv").text
    feed = client.get(f"/letters/{slug}/commitments.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert feed.text.count("<entry>") == 3 and "33%" in feed.text


def test_date_helpers_are_sane():
    assert BASELINE_ON < TODAY < TARGET_ON and isinstance(TODAY, date)
