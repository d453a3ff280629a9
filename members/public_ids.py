"""Opaque public ids (`mem_3kq8...`): what the API shows instead of database keys."""

import secrets

# Crockford's base32 without look-alikes (no I, L, O, U), lower-case for readability in URLs.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def public_id_new(prefix: str, length: int = 20) -> str:
    """`prefix_` + `length` random characters: 5 bits each, 100 bits for the default length."""
    return f"{prefix}_" + "".join(secrets.choice(ALPHABET) for _ in range(length))
