"""The owner's unlock code, stored only as a scrypt hash (`[owner] unlock_code_hash`), and
checked in constant time. `doorstep owner-code` makes the line for the config."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

N, R, P = 2**14, 8, 1  # about 16 MiB and a few tens of ms: slow to guess, quick to check once
HASH = re.compile(r"scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


def hash_code(code: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.scrypt(code.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return (f"scrypt$n={N},r={R},p={P}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(key).decode()}")


def check_code(code: str, stored: str) -> bool:
    """Whether ``code`` is the one ``stored`` was made from; False for a hash it cannot read."""
    match = HASH.fullmatch(stored)
    if match is None:
        return False
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    salt, expected = base64.b64decode(match.group(4)), base64.b64decode(match.group(5))
    try:
        key = hashlib.scrypt(code.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected),
                             maxmem=2**26)
    except ValueError:  # parameters this machine refuses: no code can match
        return False
    return hmac.compare_digest(key, expected)
