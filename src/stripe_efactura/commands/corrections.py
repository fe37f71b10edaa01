"""`payments override`, `invoices storno`, `invoices reissue`: the REST API's buyer override
and corrections on demand from the command line (``app/overrides.py``,
``app/corrections.py``), audited as ``cli:<system user>``.

A refusal is one coded line (``E-OVERRIDE-INVALID``, ``E-STORNO-…``, ``E-REISSUE-PARTIAL``);
when it comes from the invoicing rules, each broken rule follows on its own line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from ..errors import UserInputError
from . import Access, invoices_app, payments_app, read_input, session

if TYPE_CHECKING:
    from ..invoicing.buyer import BuyerOverrides

T = TypeVar("T")

Name = Annotated[str | None, typer.Option("--name", help="Buyer name (company or person).")]
Cui = Annotated[
    str | None, typer.Option("--cui", help="CUI (18547290) or VAT id (RO18547290, DE…).")
]
Cnp = Annotated[str | None, typer.Option("--cnp", help="CNP of a Romanian private person.")]
VatId = Annotated[str | None, typer.Option("--vat-id", help="VAT id, when no --cui is given.")]
Line1 = Annotated[str | None, typer.Option("--line1", help="Street and number.")]
Line2 = Annotated[str | None, typer.Option("--line2", help="Address, second line.")]
City = Annotated[str | None, typer.Option("--city", help="City (Bucharest: SECTOR1…6).")]
County = Annotated[str | None, typer.Option("--state", help="County (Cluj, CJ, RO-CJ).")]
Postal = Annotated[str | None, typer.Option("--postal-code", help="Postal code.")]
Country = Annotated[str | None, typer.Option("--country", help="ISO 3166 alpha-2 (RO, DE).")]
Email = Annotated[str | None, typer.Option("--email", help="Buyer e-mail.")]
Individual = Annotated[
    bool, typer.Option("--individual", help="Invoice a private person even with a company id.")
]
AsJson = Annotated[bool, typer.Option("--json", help="JSON output.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (printed on the storno).")]
BuyerFile = Annotated[
    Path | None, typer.Option("--buyer", help="JSON file of buyer fields (options win).")
]


@contextmanager
def explained() -> Iterator[None]:
    """Print each broken invoicing rule of a refusal, then let its coded line follow."""
    from ..app.corrections import ProblemsRefusal

    try:
        yield
    except ProblemsRefusal as exc:
        for p in exc.problems:
            typer.echo(f"  {p.code} ({p.field}): {p.message_en} / {p.message_ro}", err=True)
        raise


def _run(use_case: Callable[..., T], *args: object, **kwargs: object) -> T:
    from ..app.audit_log import Actor

    with explained(), session(Access.WRITE) as ctx:
        return use_case(ctx, Actor.cli(), *args, **kwargs)


def buyer_overrides(fields: Mapping[str, object], buyer_file: Path | None) -> BuyerOverrides:
    from ..app.overrides import buyer_from_fields

    data: dict[str, object] = {}
    if buyer_file is not None:
        try:
            loaded = json.loads(read_input(buyer_file).decode("utf-8"))
        except ValueError as exc:
            loaded = None
            cause: Exception | None = exc
        else:
            cause = None
        if not isinstance(loaded, dict):
            raise UserInputError(
                f"{buyer_file}: not a JSON object of buyer fields",
                code="E-INPUT-INVALID",
                message_ro=f"{buyer_file}: nu este un obiect JSON cu datele cumpărătorului",
            ) from cause
        data.update(loaded)
    data.update({k: v for k, v in fields.items() if v not in (None, "", False)})
    if not data:
        raise UserInputError(
            "give the buyer's data (--name, --cui or --cnp, --line1, --city, …, or --buyer FILE)",
            code="E-USAGE",
            message_ro="dați datele cumpărătorului (--name, --cui sau --cnp, --line1, --city, …)",
        )
    return buyer_from_fields(data)


BUYER_FIELDS = (
    "name",
    "cui",
    "cnp",
    "vat_id",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "email",
    "individual",
)


def _buyer_fields(options: Mapping[str, object]) -> dict[str, object]:
    """The buyer options of a command (``override``, ``reissue``) from its ``locals()``."""
    return {name: options[name] for name in BUYER_FIELDS}


def _echo(result: Mapping[str, object], as_json: bool, line: str) -> None:
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else line)


@payments_app.command("override")
def override_command(
    key: Annotated[str, typer.Argument(help="Payment key (pi_…, in_…, ch_…).")],
    name: Name = None,
    cui: Cui = None,
    cnp: Cnp = None,
    vat_id: VatId = None,
    line1: Line1 = None,
    line2: Line2 = None,
    city: City = None,
    state: County = None,
    postal_code: Postal = None,
    country: Country = None,
    email: Email = None,
    individual: Individual = False,
    buyer: BuyerFile = None,
    as_json: AsJson = False,
) -> None:
    """Buyer override: checked with the rules of Stripe's data, audited, then the payment is
    issued again (an invoice ANAF rejected keeps its number and is sent again)."""
    from ..app import overrides

    fields = _buyer_fields(locals())
    result = _run(overrides.override_buyer, key, buyer_overrides(fields, buyer))
    problems = " ".join(p["code"] for p in result["problems"])
    invoice = result["invoice"] or "-"
    _echo(result, as_json, f"{key}: {result['status']} {invoice} {problems}".rstrip())


@invoices_app.command("storno")
def storno_command(
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. SEF000123.")],
    reason: Reason,
    amount: Annotated[
        str | None,
        typer.Option("--amount", help="Partial storno: this much (e.g. 50.00); default: all."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Storno on demand, full or partial, with a reason (numbered, validated, sent to ANAF)."""
    from ..app import corrections

    result = _run(corrections.storno, number, reason=reason, amount=amount)
    _echo(result, as_json, f"{number}: storno {result['storno']} of {result['amount']}")


@invoices_app.command("reissue")
def reissue_command(
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. SEF000123.")],
    reason: Reason,
    name: Name = None,
    cui: Cui = None,
    cnp: Cnp = None,
    vat_id: VatId = None,
    line1: Line1 = None,
    line2: Line2 = None,
    city: City = None,
    state: County = None,
    postal_code: Postal = None,
    country: Country = None,
    email: Email = None,
    individual: Individual = False,
    buyer: BuyerFile = None,
    as_json: AsJson = False,
) -> None:
    """Re-issue to another buyer: a full storno of the invoice and a new invoice of the same
    sale to the buyer given, both or neither."""
    from ..app import corrections

    fields = _buyer_fields(locals())
    result = _run(corrections.reissue, number, buyer_overrides(fields, buyer), reason=reason)
    line = f"{number}: storno {result['storno']}, new invoice {result['new_invoice']}"
    _echo(result, as_json, line)
