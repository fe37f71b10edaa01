"""`anaf login|status`, `anaf token import`: the company's authorisation with ANAF."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UserInputError
from . import Access, anaf_app, anaf_token_app, read_input, session


@anaf_app.command("login")
def login_command(
    listen: Annotated[
        int | None,
        typer.Option(
            "--listen",
            help="Receive ANAF's redirect on this local port (one-shot listener) instead of "
            "the web app's /anaf/callback.",
        ),
    ] = None,
    redirect_uri: Annotated[
        str | None,
        typer.Option(
            "--redirect-uri",
            help="The callback URL registered at ANAF (default EFACTURA_ANAF_REDIRECT_URI; "
            "with --listen, https://localhost:PORT/anaf/callback).",
        ),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option("--tls/--no-tls", help="With --listen: HTTPS with a self-signed certificate."),
    ] = True,
    timeout: Annotated[float, typer.Option(help="With --listen: seconds to wait.")] = 600.0,
) -> None:
    """Print the ANAF authorisation URL for the person holding the qualified certificate."""
    from ..app import anaf_login

    with session(Access.WRITE) as ctx:
        redirect = _redirect_uri(redirect_uri, listen, tls, ctx.settings.anaf_redirect_uri)
        _print_authorize_url(anaf_login.authorize_url(ctx, redirect))
        if listen is None:
            typer.echo(
                f"\nANAF will redirect to {redirect}; `stripe-efactura serve` must be "
                "reachable there. The code is exchanged within 60 seconds."
            )
            return
        typer.echo(f"\nWaiting for ANAF's redirect on {redirect} …")
        answer = anaf_login.listen_once(
            ctx, port=listen, redirect_uri=redirect, timeout=timeout, tls=tls
        )
    typer.echo(answer.message_ro)
    typer.echo(answer.message_en)
    if answer.status != 200:
        raise typer.Exit(1)


def _redirect_uri(given: str | None, listen: int | None, tls: bool, configured: str | None) -> str:
    scheme = "https" if tls else "http"
    redirect = given or (f"{scheme}://localhost:{listen}/anaf/callback" if listen else configured)
    if not redirect:
        raise UserInputError(
            "set EFACTURA_ANAF_REDIRECT_URI (the https URL of /anaf/callback registered at "
            "ANAF) or use --listen PORT",
            code="E-ANAF-REDIRECT",
            message_ro="setați EFACTURA_ANAF_REDIRECT_URI sau folosiți --listen PORT",
        )
    return redirect


def _print_authorize_url(url: str) -> None:
    typer.echo(
        "Deschideți adresa de mai jos pe calculatorul cu certificatul calificat (token USB)\n"
        "Open this URL on the computer with the qualified certificate (USB token):\n"
    )
    typer.echo(url)


@anaf_token_app.command("import")
def token_import_command(
    access: Annotated[str | None, typer.Option("--access", help="The access token (JWT).")] = None,
    refresh: Annotated[
        str | None, typer.Option("--refresh", help="The refresh token (JWT).")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="JSON with access_token and refresh_token (as ANAF's token endpoint answers); "
            "'-' reads standard input.",
        ),
    ] = None,
) -> None:
    """Store tokens obtained elsewhere (encrypted; expiry read from the JWTs)."""
    from ..app import anaf_tokens

    expires_in: object = None
    if file is not None:
        raw = sys.stdin.read() if str(file) == "-" else read_input(file).decode("utf-8")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise UserInputError(
                f"{file}: not JSON ({exc})",
                code="E-INPUT-INVALID",
                message_ro=f"{file}: nu este JSON",
            ) from exc
        access = access or data.get("access_token")
        refresh = refresh or data.get("refresh_token")
        expires_in = data.get("expires_in")
    if not access or not refresh:
        raise UserInputError(
            "give --access and --refresh, or --file with both tokens",
            code="E-USAGE",
            message_ro="dați --access și --refresh, sau --file cu ambele tokenuri",
        )
    with session(Access.WRITE) as ctx:
        lifetime = expires_in if isinstance(expires_in, int) else None
        tokens = anaf_tokens.import_tokens(ctx, access, refresh, expires_in=lifetime)
    access_text = anaf_tokens.expiry_text(tokens.access_exp)
    refresh_text = anaf_tokens.expiry_text(tokens.refresh_exp)
    typer.echo(f"tokens stored; access {access_text}, refresh {refresh_text}")


@anaf_app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Whether ANAF is authorised, when the tokens expire, when to authorise again."""
    from ..app import anaf_tokens

    with session(Access.READ) as ctx:
        status = anaf_tokens.token_status(ctx)
        s = ctx.settings
    out = {**status.to_dict(), "env": s.anaf_env}
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    if not status.authorised:
        typer.echo(f"CUI {status.cui}: not authorised; run `stripe-efactura anaf login`")
        raise typer.Exit(1)
    typer.echo(f"CUI {status.cui} ({s.anaf_env}): authorised")
    if status.access_expires_at is None:
        typer.echo(
            f"  access token          {anaf_tokens.EXPIRY_UNKNOWN} (refreshed when ANAF "
            "refuses it with HTTP 401)"
        )
    else:
        typer.echo(f"  access token expires  {out['access_expires_at']}")
    if status.refresh_expires_at is None:
        typer.echo(
            "  refresh token expires unknown (ANAF did not give an expiry; you are told when "
            "ANAF refuses it)"
        )
        return
    typer.echo(
        f"  refresh token expires {out['refresh_expires_at']} "
        f"(authorise again within {status.reauthorize_in_days} days)"
    )
