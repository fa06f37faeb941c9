"""The letter form: save, preview without saving, bad input kept, concurrent edits, recipients directory."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from backend.db import as_utc, utcnow
from backend.letters import service as letters
from backend.letters.models import Letter, LetterVersion, PressContact, Quote, Recipient
from tests.campaigns.helpers import BODY, arrange, fresh, letter_form


def versions(db, letter_id):
    fresh(db)
    return letters.get_versions(session=db, letter_id=letter_id)


def test_new_letter_saves_everything(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    url = f"/campaigns/{c.campaign.slug}/letters/new"
    data = letter_form(**{
        "quote-0-person": "Sam Speaker", "quote-0-role": "Director", "quote-0-organisation": "Lead Org",
        "quote-0-text": "People are waiting.", "quote-0-order": "2",
        "quote-1-person": "Ann First", "quote-1-text": "First quote.", "quote-1-order": "1",
        "press_name": "Pia Press", "press_email": "press@lead.example", "press_phone": "020 7946 0000",
        "press_out_of_hours_phone": "+44 7700 900000", "notes_to_editors": "Lead Org is a *charity*.",
        "tags": "Asylum, housing, asylum", "embargo_date": (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d"),
        "embargo_time": "00:01",
    })
    response = post(client, url, data)
    assert response.status_code == 303, response.text
    fresh(db)
    letter = db.exec(select(Letter)).one()
    assert response.headers["location"] == f"/letters/{letter.slug}/overview"
    version = letters.current_version(session=db, letter=letter)
    assert version.number == 1 and version.subject == "Asylum decisions" and version.author_id == c.lead.id
    assert [r.name for r in letters.get_recipients(session=db, letter_id=letter.id)] == ["Jane Example MP"]
    assert [q.person for q in letters.get_quotes(session=db, letter_id=letter.id)] == ["Ann First", "Sam Speaker"]
    assert letters.get_press_contact(session=db, letter_id=letter.id).out_of_hours_phone == "+44 7700 900000"
    assert letters.get_tags(session=db, letter_id=letter.id) == ["Asylum", "housing"]  # as first written
    assert as_utc(letter.embargo_at) > utcnow()
    page = client.get(f"/letters/{letter.slug}/overview")
    assert page.status_code == 200
    assert "Asylum decisions" in page.text and "Pia Press" in page.text and "<em>charity</em>" in page.text
    assert version.content_hash in page.text
    assert ("GMT" in page.text) or ("BST" in page.text)


def test_preview_button_renders_without_saving(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    url = f"/campaigns/{c.campaign.slug}/letters/new"
    response = post(client, url, letter_form(action="preview", body="Hello **there**"))
    assert response.status_code == 200
    assert "<strong>there</strong>" in response.text
    assert "Hello **there**" in response.text  # the textarea keeps what was typed
    fresh(db)
    assert db.exec(select(Letter)).first() is None


def test_preview_fragment_for_javascript(client, db, make_user, login):
    c = arrange(db, make_user)
    login(client, c.editor)
    page = client.get(f"/letters/{c.letter.slug}/edit")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/letters/{c.letter.slug}/preview", data=letter_form(body="A <script>x</script> *b*"),
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    assert "<em>b</em>" in response.text and "<script>" not in response.text
    assert client.post(f"/letters/{c.letter.slug}/preview", data=letter_form()).status_code == 403  # no token


def test_salutation_left_blank_is_suggested_from_recipients(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new", letter_form(salutation=""))
    assert response.status_code == 303
    fresh(db)
    assert db.exec(select(LetterVersion)).one().salutation == "Dear Home Secretary,"


def test_edit_makes_a_new_version_and_unchanged_text_does_not(client, db, make_user, login, post):
    c = arrange(db, make_user)
    login(client, c.editor)
    url = f"/letters/{c.letter.slug}/edit"
    page = client.get(url)
    assert page.status_code == 200 and "Jane Example MP" in page.text
    data = letter_form(body=BODY.replace("a year", "two years"), base_version_id=str(c.letter.current_version_id),
                       recipient_id=str(letters.get_recipients(session=db, letter_id=c.letter.id)[0].id))
    data.pop("new-0-name"), data.pop("new-0-position"), data.pop("new-0-organisation")
    assert post(client, url, data).status_code == 303
    found = versions(db, c.letter.id)
    assert [v.number for v in found] == [2, 1] and found[0].author_id == c.editor.id
    data["base_version_id"] = str(found[0].id)
    response = post(client, url, data)
    assert response.status_code == 303
    assert len(versions(db, c.letter.id)) == 2
    assert len(letters.get_recipients(session=db, letter_id=c.letter.id)) == 1


def test_concurrent_edit_is_detected_and_text_kept(client, db, make_user, login, post):
    c = arrange(db, make_user)
    base = str(c.letter.current_version_id)
    # Someone else saves first.
    letters.save_version(session=db, letter=c.letter, author_id=c.lead.id, base_version_id=c.letter.current_version_id,
                         text=letters.LetterText("Dear Home Secretary,", "Asylum decisions", BODY + "\nP.S.", "Yours,"))
    db.commit()
    login(client, c.editor)
    url = f"/letters/{c.letter.slug}/edit"
    mine = "My own careful paragraph that must not be lost."
    response = post(client, url, letter_form(body=mine, base_version_id=base))
    assert response.status_code == 409
    assert "Someone else saved" in response.text and mine in response.text
    assert f"/letters/{c.letter.slug}/diff?from=1&amp;to=2" in response.text
    assert len(versions(db, c.letter.id)) == 2
    # Saving again from the re-rendered form (which now builds on the latest) succeeds.
    latest = versions(db, c.letter.id)[0]
    assert f'name="base_version_id" value="{latest.id}"' in response.text
    assert post(client, url, letter_form(body=mine, base_version_id=str(latest.id))).status_code == 303
    assert versions(db, c.letter.id)[0].body.strip() == mine


def _assert_nothing_saved(db):
    fresh(db)
    assert db.exec(select(Letter)).first() is None
    assert db.exec(select(Recipient)).first() is None
    assert db.exec(select(Quote)).first() is None
    assert db.exec(select(PressContact)).first() is None


def test_missing_subject(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new",
                    letter_form(subject="  ", body="Typed <b>body</b> kept", **{"quote-0-person": "Quoted Person",
                                                                                  "quote-0-text": "Words"}))
    assert response.status_code == 422
    assert "Enter a subject line." in response.text and 'href="#f-subject"' in response.text
    assert "Typed &lt;b&gt;body&lt;/b&gt; kept" in response.text and "Quoted Person" in response.text
    _assert_nothing_saved(db)


def test_recipient_without_a_name(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new",
                    letter_form(**{"new-0-name": "", "new-0-position": "Commissioner of Police"}))
    assert response.status_code == 422
    assert "Each recipient needs a name." in response.text and "Commissioner of Police" in response.text
    assert "Asylum decisions" in response.text
    _assert_nothing_saved(db)


def test_no_recipient_at_all(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new",
                    letter_form(**{"new-0-name": "", "new-0-position": "", "new-0-organisation": ""}))
    assert response.status_code == 422 and "Add at least one recipient" in response.text
    _assert_nothing_saved(db)


def test_embargo_in_the_past(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new",
                    letter_form(embargo_date="2020-01-01", embargo_time="09:30"))
    assert response.status_code == 422
    assert "The embargo must be in the future." in response.text
    assert 'value="2020-01-01"' in response.text and 'value="09:30"' in response.text
    _assert_nothing_saved(db)


def test_embargo_in_the_spring_forward_gap(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new",
                    letter_form(embargo_date="2099-03-29", embargo_time="01:30"))
    assert response.status_code == 422 and "does not exist in London" in response.text


def test_embargo_stored_in_utc_from_london_time(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    assert post(client, f"/campaigns/{c.campaign.slug}/letters/new",
                letter_form(embargo_date="2099-07-01", embargo_time="00:01")).status_code == 303
    fresh(db)
    letter = db.exec(select(Letter)).one()
    assert as_utc(letter.embargo_at).isoformat() == "2099-06-30T23:01:00+00:00"  # BST is UTC+1
    assert "1 July 2099, 00:01 BST" in client.get(f"/letters/{letter.slug}/overview").text


def test_editor_cannot_set_the_embargo(client, db, make_user, login, post):
    c = arrange(db, make_user)
    login(client, c.editor)
    url = f"/letters/{c.letter.slug}/edit"
    assert "Only the lead organisation sets the embargo." in client.get(url).text
    post(client, url, letter_form(embargo_date="2099-07-01", embargo_time="00:01",
                                  base_version_id=str(c.letter.current_version_id)))
    fresh(db)
    assert db.get(Letter, c.letter.id).embargo_at is None


def test_five_megabyte_body(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    big = "word " * (5 * 1024 * 1024 // 5)
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new", letter_form(body=big))
    assert response.status_code == 422
    assert "The body is too long" in response.text and "200,000 at most" in response.text
    assert big.strip() in response.text  # kept in the textarea
    _assert_nothing_saved(db)


def test_bad_press_contact_and_quote(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new", letter_form(**{
        "press_email": "nope", "press_phone": "call me", "quote-0-text": "A quote with no person"}))
    assert response.status_code == 422
    assert "Enter the press contact&#39;s name." in response.text
    assert "Enter an email address like name@example.org." in response.text
    assert "Enter a phone number" in response.text
    assert "Each quote needs the person&#39;s name" in response.text
    _assert_nothing_saved(db)


def test_published_letter_cannot_be_edited(client, db, make_user, login, post):
    c = arrange(db, make_user)
    c.letter.status = "published"
    db.add(c.letter)
    db.commit()
    login(client, c.lead)
    assert client.get(f"/letters/{c.letter.slug}/edit").status_code == 409
    response = post(client, f"/letters/{c.letter.slug}/edit", letter_form(), page=f"/letters/{c.letter.slug}/overview")
    assert response.status_code == 409


def test_recipients_directory(client, db, make_user, login, post):
    user = make_user(organisation="Lead Org")
    login(client, user)
    response = post(client, "/recipients", {"name": "", "position": "Commissioner", "reply_target_days": "20",
                                            "very_overdue_days": "40"})
    assert response.status_code == 422 and "Each recipient needs a name." in response.text
    assert 'value="Commissioner"' in response.text
    response = post(client, "/recipients", {"name": "Sir Example", "position": "Commissioner of Police",
                                            "recipient_organisation": "Metropolitan Police", "email": "",
                                            "reply_target_days": "", "very_overdue_days": ""})
    assert response.status_code == 303
    fresh(db)
    recipient = db.exec(select(Recipient)).one()
    assert (recipient.reply_target_days, recipient.very_overdue_days) == (20, 40)
    response = post(client, f"/recipients/{recipient.id}/edit", {"name": "Sir Example", "reply_target_days": "10",
                                                                  "very_overdue_days": "5"})
    assert response.status_code == 422 and "very-overdue target" in response.text
    assert post(client, f"/recipients/{recipient.id}/edit", {"name": "Dame Example", "reply_target_days": "10",
                                                              "very_overdue_days": "30"}).status_code == 303
    assert "Dame Example" in client.get("/recipients").text
    client.cookies.clear()
    db.commit()
    other = make_user(organisation="Other Org")
    login(client, other)
    assert "Dame Example" not in client.get("/recipients").text
    assert client.get(f"/recipients/{recipient.id}/edit").status_code == 404


def test_directory_recipient_of_another_organisation_cannot_be_chosen(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    theirs = letters.create_recipient(session=db, organisation_id=_org_of(db, c.outsider), name="Secret Person")
    db.commit()
    login(client, c.lead)
    data = letter_form(recipient_id=str(theirs.id))
    response = post(client, f"/campaigns/{c.campaign.slug}/letters/new", data)
    assert response.status_code == 422 and "Choose recipients from your organisations&#39; directory." in response.text


def _org_of(db, user):
    from backend.accounts.service import organisations_of

    return organisations_of(session=db, user_id=user.id)[0].id
