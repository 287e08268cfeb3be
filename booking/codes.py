"""Codes people read out on the phone and type in, and the normalised identity of a person."""

import secrets
import unicodedata

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B, G/6: characters that are misread or misheard.
ALPHABET = "ACDEFHJKMNPQRTUVWXY34679"
CODE_LENGTH = 10  # 24^10 ≈ 6·10^13: unguessable, and a lookup also needs the birth date


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def clean_code(text: str) -> str:
    """A code as typed: any case, with spaces or dashes; look-alike characters mapped to the
    alphabet's (O→0 is not in it: both are dropped from the alphabet, so a typed 0 stays wrong)."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def format_code(code: str) -> str:
    """ABCD-EFGH-JK: easier to read out and to copy."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def identity(first_name: str, last_name: str, birth_date) -> str:
    """Name and birth date normalised: case, accents, umlaut spellings and spacing do not
    make a second person ("Müller" = "MUELLER" = "Muller")."""
    return f"{_name(last_name)}|{_name(first_name)}|{birth_date.isoformat()}"


def _name(text: str) -> str:
    text = text.casefold().replace("ß", "ss")
    for umlaut, spelled in (("ä", "a"), ("ö", "o"), ("ü", "u"), ("ae", "a"), ("oe", "o"), ("ue", "u")):
        text = text.replace(umlaut, spelled)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text).split())
