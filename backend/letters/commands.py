"""The `undersigned import` and `undersigned export` commands: letters as files from the command line.

backend/cli.py parses the arguments and passes the engine; nothing here reads the settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from backend.accounts import service as accounts
from backend.errors import InvalidInput
from backend.letters import fileformat, transfer
from backend.letters import service as letters
from backend.letters.fileyaml import LetterFileError


def cli_import(args: argparse.Namespace, *, engine: Engine) -> int:
    """`undersigned import FILE [--campaign SLUG]`: errors as `file:line: field: message`, exit status 2."""
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}:1: file: cannot read it: {exc}", file=sys.stderr)
        return 2
    with Session(engine) as session:
        try:
            lf = fileformat.parse(text)
            lf.slug = lf.slug or accounts.slugify(path.stem)
            letter = transfer.import_letter(session=session, letter_file=lf, author=None,
                                   campaign_slug=getattr(args, "campaign", None))
        except LetterFileError as exc:
            print(exc.located(str(path)), file=sys.stderr)
            return 2
        session.commit()
        for note in transfer.notes_on_import(lf):
            print(f"{path}:{note}", file=sys.stderr)
        print(f"Imported “{letter.title}” as {letter.slug}.")
    return 0


def cli_export(args: argparse.Namespace, *, engine: Engine) -> int:
    """`undersigned export SLUG [-o FILE]`: the letter as a file, or on standard output."""
    with Session(engine) as session:
        letter = letters.get_by_slug(session=session, slug=args.slug)
        if letter is None:
            print(f"error: there is no letter with the slug “{args.slug}”.", file=sys.stderr)
            return 2
        try:
            text = transfer.export_letter(session=session, letter=letter)
        except InvalidInput as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
    if getattr(args, "output", None):
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {args.output}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
