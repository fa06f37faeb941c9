"""The forms of measured commitments, declared (backend/forms.py): each route reads one of these models.

Every field is text as the browser sends it; the service reads the numbers and dates and says what is wrong.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from backend.forms import DeclaredForm


class DocumentForm(DeclaredForm):
    """A public document attached to the letter (its fields carry a prefix: the page holds other forms)."""

    model_config = ConfigDict(populate_by_name=True)

    title: str = Field("", alias="doc-title")
    publisher: str = Field("", alias="doc-publisher")
    published_on: str = Field("", alias="doc-published_on")
    url: str = Field("", alias="doc-url")


class MeasureForm(DeclaredForm):
    """The numbers of a measured commitment: what is counted, from what, to what, by when."""

    metric: str = ""
    unit: str = ""
    unit_label: str = ""
    direction: str = ""
    baseline_value: str = ""
    baseline_on: str = ""
    baseline_url: str = ""
    target_value: str = ""
    target_on: str = ""


class CommitmentForm(MeasureForm):
    """A commitment recorded from a response or a public document, with its numbers when it has some."""

    source: str = ""
    text: str = ""
    due_on: str = ""


class UpdateForm(DeclaredForm):
    """A dated evidence update on a commitment (a figure when it is measured, and a new status if it changed)."""

    noted_on: str = ""
    value: str = ""
    link: str = ""
    note: str = ""
    status: str = ""


class UpdateEditForm(DeclaredForm):
    """A correction of an update: the status stays as it was (a change of status is a new update)."""

    noted_on: str = ""
    value: str = ""
    link: str = ""
    note: str = ""
