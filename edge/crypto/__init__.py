"""Signature verification: the only place that imports PyJWT and cryptography's key types."""
