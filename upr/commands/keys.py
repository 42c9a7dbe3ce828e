"""`upr keys new`: fresh command and text keys for a deployment's .env (README "Who is trusted").

Prints one line per variable: each producer's own Ed25519 signing key (UI, ingest, and the CLI
on the operator's host), the public keys the tracker and the notifier verify with, and the
tracker's X25519 key pair for sealed text. Nothing is stored: put the lines in .env and give
each component only its own (docker-compose.yml maps them).
"""

from __future__ import annotations

import base64
import secrets

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from contracts.signing import Signer


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def new_keys(kek_id: str) -> dict[str, str]:
    """Variable -> value, for every key a production deployment needs."""
    signers = [Signer(c, Ed25519PrivateKey.generate()) for c in ("ui", "ingest", "cli")]
    kek = X25519PrivateKey.generate()
    return {
        **{f"UPR_COMMAND_SIGNING_KEY_{s.component.upper()}": s.private() for s in signers},
        "UPR_COMMAND_PUBLIC_KEYS": ",".join(s.public() for s in signers),
        "UPR_TEXT_KEK": f"{kek_id}:{_b64(kek.private_bytes_raw())}",
        "UPR_TEXT_PUBLIC_KEY": f"{kek_id}:{_b64(kek.public_key().public_bytes_raw())}",
    }


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="Keys for signing commands and sealing people's text.", no_args_is_help=True)
    app.add_typer(keys, name="keys")

    @keys.command("new")
    def new(kek_id: str = typer.Option("", "--text-key-id",
                                       help="id of the new text key (default: a random one)")) -> None:
        """Print new keys as .env lines (the CLI's own key is UPR_COMMAND_SIGNING_KEY on the host)."""
        for name, value in new_keys(kek_id or f"k{secrets.token_hex(4)}").items():
            typer.echo(f"{name}={value}")
