"""A letter sent by email to the Home Office, and replies to it written as a mail client would."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest
from sqlmodel import select

from backend.config import get_settings
from backend.db import utcnow
from backend.letters.models import LetterRecipient
from backend.letters.service import LetterText
from backend.responses import dispatch
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Sent:
    lead: Any
    letter: Any
    link: Any
    reply_to: str  # the address the letter email carried
    message_id: str  # the letter email's Message-ID


@pytest.fixture
def sent(db, make_user, smtp, deliver) -> Sent:
    made = factories.coalition(
        db, make_user, organisation="Equal Voices", campaign="Protest rights",
        text=LetterText("Dear Home Secretary,", "The right to protest", "Please protect it.", "Yours sincerely,"),
        recipients=[factories.home_secretary(name="Home Secretary", email="homesec@homeoffice.example",
                                             position="Secretary of State for the Home Department")])
    lead, letter = made.lead, made.letter
    link = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == letter.id)).one()
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(link.id, "email")])
    db.commit()
    deliver()
    [mail] = smtp.wait_for(1, to="homesec@homeoffice.example")
    smtp.clear()
    return Sent(lead, letter, link, str(mail.message["Reply-To"]), str(mail.message["Message-ID"]))


def reply(*, to: str, subject: str = "Re: The right to protest", text: str = "Thank you for your letter.",
          html: str | None = None, headers: dict[str, str] | None = None,
          attachments: list[tuple[str, str, bytes]] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Private Office <private.office@homeoffice.example>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="homeoffice.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or []:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


# --- A real IMAP server: Debian's dovecot, with its own configuration in a temporary folder -------------------

@dataclass
class Imap:
    host: str
    port: int
    user: str
    password: str


def _dovecot_config(root: Any, port: int, uid: str, gid: str) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {uid}
default_internal_group = {gid}
default_login_user = {uid}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


@pytest.fixture(scope="session")
def imap_server() -> Any:
    import grp
    import os
    import pwd
    import shutil
    import socket
    import subprocess
    import tempfile
    import time
    from pathlib import Path

    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
    if binary is None:
        message = "dovecot is not installed (apt-get install dovecot-imapd)"
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI: every real part must be there
            pytest.fail(message)
        pytest.skip(message)
    # Its own folder straight under the temporary directory: dovecot's processes run as another user, who must be
    # able to reach it (pytest's folders are private to the user running the tests).
    root = Path(tempfile.mkdtemp(prefix="undersigned-dovecot-"))
    os.chmod(root, 0o755)  # noqa: S103  (dovecot runs as another user)
    if os.geteuid() == 0:  # dovecot will not run its processes as root: use its own system user
        uid, gid = "dovecot", grp.getgrgid(pwd.getpwnam("dovecot").pw_gid).gr_name
    else:
        uid, gid = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    for folder in ("mail", "home", "state", "run"):
        (root / folder).mkdir()
        if os.geteuid() == 0 and folder in ("mail", "home"):
            shutil.chown(root / folder, uid, gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "passwd").write_text("replies:{PLAIN}imap-test-password\n")
    config = root / "dovecot.conf"
    config.write_text(_dovecot_config(root, port, uid, gid))
    process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise AssertionError(f"dovecot stopped: {process.stdout.read().decode() if process.stdout else ''}"
                                 f"\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                if conn.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError("dovecot did not start")
    yield Imap("127.0.0.1", port, "replies", "imap-test-password")
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(root, ignore_errors=True)
