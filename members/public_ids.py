"""Opaque public ids (`mem_3kq8...`): what the API shows instead of database keys."""

import secrets

# Crockford's base32 without look-alikes (no I, L, O, U), lower-case for readability in URLs.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def public_id_new(prefix: str, length: int = 20) -> str:
    """`prefix_` + `length` random characters: 5 bits each, 100 bits for the default length."""
    bits = secrets.randbits(5 * length)  # one read of the system's randomness, not one per character
    return f"{prefix}_" + "".join(ALPHABET[(bits >> (5 * index)) & 31] for index in range(length))
