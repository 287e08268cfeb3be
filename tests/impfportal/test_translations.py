"""English is the site's second language: every German text has a reviewed English one."""

import re
from pathlib import Path

PO_FILE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def strings(block: str) -> str:
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block))


def test_every_message_has_a_reviewed_english_text():
    untranslated, fuzzy = [], []
    for entry in PO_FILE.read_text().split("\n\n")[1:]:
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', entry, re.M)
        msgstr = re.search(r"^msgstr(?:\[0\])? ((?:\".*\"\n?)+)", entry, re.M)
        if not msgid or not strings(msgid.group(1)):
            continue
        if "#, fuzzy" in entry:
            fuzzy.append(strings(msgid.group(1)))
        elif not msgstr or not strings(msgstr.group(1)):
            untranslated.append(strings(msgid.group(1)))
    assert not untranslated, f"without English text: {untranslated}"
    assert not fuzzy, f"fuzzy (guessed by makemessages, unreviewed): {fuzzy}"
