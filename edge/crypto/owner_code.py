"""The owner's unlock code, stored only as a scrypt hash (`[owner] unlock_code_hash`), and
checked in constant time. `doorstep owner-code` makes the line for the config."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

N, R, P = 2**14, 8, 1  # about 16 MiB and a few tens of ms: slow to guess, quick to check once
MAX_MEMORY = 2**26  # what a check may take (128 * r * n bytes): 64 MiB, on a Pi with 512 MiB
HASH = re.compile(r"scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


def hash_code(code: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.scrypt(code.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return (
        f"scrypt$n={N},r={R},p={P}${base64.b64encode(salt).decode()}$"
        f"{base64.b64encode(key).decode()}"
    )


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """(n, r, p, salt, key) of a line `doorstep owner-code` made; ValueError saying what is
    wrong with any other (checked when the config is loaded, not at the first unlock)."""
    match = HASH.fullmatch(stored)
    if match is None:
        raise ValueError("not scrypt$n=N,r=R,p=P$SALT$KEY: make it with `doorstep owner-code`")
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    try:
        salt, key = (base64.b64decode(match.group(i), validate=True) for i in (4, 5))
    except binascii.Error as exc:
        raise ValueError(
            f"its salt or key is not base64 ({exc}): make it with `doorstep owner-code`"
        ) from None
    if (
        n < 2
        or n & (n - 1)
        or r < 1
        or p < 1
        or not salt
        or len(key) < 16
        or 128 * r * n > MAX_MEMORY
    ):
        raise ValueError(
            "its scrypt parameters, salt or key are not usable: make it with `doorstep owner-code`"
        )
    return n, r, p, salt, key


def check_code(code: str, stored: str) -> bool:
    """Whether ``code`` is the one ``stored`` was made from; False for a hash it cannot read."""
    try:
        n, r, p, salt, expected = parse_hash(stored)
        key = hashlib.scrypt(
            code.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=MAX_MEMORY + 2**20
        )
    except ValueError:  # a hash it cannot read, or parameters this machine refuses
        return False
    return hmac.compare_digest(key, expected)
