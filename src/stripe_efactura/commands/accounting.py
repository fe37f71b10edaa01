"""The accountant's month: ``journal``, ``export-period``, ``verify-export``, ``audit``;
the quarter's ``oss-report``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import Access, app, session

if TYPE_CHECKING:
    from rich.progress import TaskID

    from ..app.period_audit import AuditReport
    from ..app.periods import Period

PeriodOpt = Annotated[str | None, typer.Option("--period", help="A month: YYYY-MM.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day (included), YYYY-MM-DD.")]
TestOpt = Annotated[
    bool, typer.Option("--test", help="Test-mode invoices (TEST series) instead of live ones.")
]


def _period(period: str | None, first: str | None, last: str | None) -> Period:
    from ..app import periods

    return periods.resolve(period, first, last)


def _write(path: Path, data: bytes) -> None:
    from ..errors import UserInputError
    from ..files import write_atomic

    try:
        write_atomic(path, data)
    except OSError as exc:
        raise UserInputError(
            f"{path}: cannot be written ({exc.strerror})",
            code="E-OUTPUT-UNWRITABLE",
            message_ro=f"{path}: nu poate fi scris",
        ) from exc


@app.command("journal")
def journal_command(
    period: PeriodOpt = None,
    first: FromOpt = None,
    last: ToOpt = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the CSV here.")] = None,
    xlsx_path: Annotated[Path | None, typer.Option("--xlsx", help="Write the XLSX here.")] = None,
    test: TestOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The sales journal (jurnal de vânzări) of a period, in RON, with its totals."""
    from ..app import journal as journal_uc
    from ..app import journal_files

    span = _period(period, first, last)
    with session(Access.READ) as ctx:
        book = journal_uc.sales_journal(ctx, span, livemode=not test)
    if csv_path is not None:
        _write(csv_path, journal_files.to_csv(book))
    if xlsx_path is not None:
        _write(xlsx_path, journal_files.to_xlsx(book))
    headers, rows = journal_files.table(book)
    if as_json:
        cells = [[journal_files.cell_json(c) for c in r] for r in rows]
        out = [dict(zip(headers, r, strict=True)) for r in cells]
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for r in book.rows:
        typer.echo(
            f"{r.number:<16} {r.issue_date} {r.kind:<8} {r.buyer_code or '-':<16} "
            f"{r.total_currency:>12} {r.currency} {r.total_ron:>12} RON  {r.anaf_state}"
        )
    typer.echo(
        f"{span.label}: {len(book.rows)} documents, total {book.total_ron} RON, "
        f"VAT {book.vat_ron} RON"
    )
    for p in (csv_path, xlsx_path):
        if p is not None:
            typer.echo(f"written: {p}")


@app.command("export-period")
def export_period_command(
    out: Annotated[Path, typer.Option("--out", help="The ZIP file to write.")],
    period: PeriodOpt = None,
    first: FromOpt = None,
    last: ToOpt = None,
    test: TestOpt = False,
) -> None:
    """One ZIP for the accountant: every invoice's and storno's XML, PDF and ANAF-signed ZIP,
    the sales journal (CSV, XLSX) and a manifest with the SHA-256 of every file."""
    from ..app import period_export

    span = _period(period, first, last)
    with session(Access.WRITE) as ctx:  # a PDF not rendered yet is rendered and stored
        result = period_export.export_period(ctx, span, out, livemode=not test)
    typer.echo(f"{result.path}: {result.invoices} documents, {result.files} files ({span.label})")
    for number, what in sorted(result.missing.items()):
        typer.echo(f"  {number}: missing {', '.join(what)} (see `stripe-efactura audit`)")


@app.command("verify-export")
def verify_export_command(
    archive: Annotated[Path, typer.Argument(help="A ZIP written by export-period.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output: ok, files, problems (exit 1 if not ok).")
    ] = False,
) -> None:
    """Check a period archive: every file against the SHA-256 of its manifest."""
    from ..app import period_export

    result = period_export.verify(archive)
    if as_json:
        out = {"archive": str(archive), "ok": result.ok, "files": result.files}
        typer.echo(json.dumps({**out, "problems": result.problems}, indent=2, ensure_ascii=False))
        raise typer.Exit(0 if result.ok else 1)
    for problem in result.problems:
        typer.echo(f"E-ARCHIVE-INVALID: {problem}", err=True)
    if not result.ok:
        raise typer.Exit(1)
    typer.echo(f"{archive}: {result.files} files verified")


class _Bar:
    """A progress bar on the terminal (stderr) for the audit's stages; silent otherwise."""

    def __init__(self) -> None:
        import sys

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not sys.stderr.isatty(),
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def _print_report(report: AuditReport) -> None:
    for f in report.findings:
        money = ""
        if f.amount is not None:
            ron = (
                f" = {f.amount_ron} RON" if f.amount_ron is not None and f.currency != "RON" else ""
            )
            money = f" {f.amount} {f.currency}{ron}"
        typer.echo(f"{f.code:<24} {f.ref:<28}{money}")
        typer.echo(f"    {f.message_en}")
        typer.echo(f"    {f.message_ro}")
        typer.echo(f"    fix: {f.fix}")
    for code, per in report.totals().items():
        typer.echo(f"total {code}: " + ", ".join(f"{v} {k}" for k, v in per.items()))
    for p in report.payouts:
        flag = "" if p.balanced else "  NOT BALANCED"
        typer.echo(
            f"payout {p.payout_id} {p.arrival_date} {p.amount} {p.currency} ({p.status}): "
            f"{len(p.invoices)} invoices, {len(p.stornos)} stornos, fees {p.sums['fees']}{flag}"
        )
        for u in p.unmatched:
            typer.echo(f"    no document here: {u}")
    for note in report.notes:
        typer.echo(f"note: {note}")
    c = report.counts
    verdict = "clean" if report.clean else f"{len(report.findings)} findings"
    typer.echo(
        f"{report.period.label}: {verdict} ({c['stripe_transactions']} Stripe transactions, "
        f"{c['payouts']} payouts, {c['documents']} documents, {c['spv_messages']} SPV messages)"
    )


@app.command("audit")
def audit_command(
    period: PeriodOpt = None,
    first: FromOpt = None,
    last: ToOpt = None,
    test: TestOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    no_spv: Annotated[bool, typer.Option("--no-spv", help="Do not read ANAF's SPV list.")] = False,
) -> None:
    """Three-way check of a period: Stripe's money, the invoices and ANAF's SPV. Exit 0 when
    clean, 1 with findings (each with its fix), 2 when Stripe or ANAF could not be read (run
    it again: it resumes where it stopped)."""
    from ..app import period_audit
    from ..app.audit_fetch import AuditUnavailable
    from ..errors import AnafError, StripeApiError

    span = _period(period, first, last)
    bar = _Bar()
    try:
        with session(Access.WRITE) as ctx, bar.progress:
            report = period_audit.run_audit(
                ctx, span, livemode=not test, progress=bar, check_spv=not no_spv
            )
    except (StripeApiError, AnafError, AuditUnavailable) as exc:
        typer.echo(" ".join(str(exc).split()), err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.clean else 1)


@app.command("oss-report")
def oss_report_command(
    quarter: Annotated[str, typer.Option("--quarter", help="A quarter: YYYYQn (2026Q3).")],
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the CSV here.")] = None,
    ecb_file: Annotated[
        Path | None,
        typer.Option("--ecb-file", help="ECB eurofxref XML to use instead of fetching it."),
    ] = None,
    test: TestOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The One-Stop-Shop return of a quarter: per member state and rate, taxable amounts and
    VAT in EUR at the ECB rate of the quarter's last day (docs/invoicing.md)."""
    from ..app import oss_report as uc

    q = uc.quarter(quarter)
    with session(Access.READ) as ctx:
        url = ctx.settings.ecb_url
        source = uc.file_rates(ecb_file) if ecb_file is not None else uc.feed_rates(url)
        report = uc.oss_report(ctx, q, source, livemode=not test)
    if csv_path is not None:
        _write(csv_path, uc.to_csv(report))
    headers, rows = uc.report_table(report)
    if as_json:
        out = {
            "quarter": q.label,
            "rates": {
                c: {"rate": str(r), "date": d.isoformat()} for c, (r, d) in report.rates.items()
            },
            "rows": [dict(zip(headers, r, strict=True)) for r in rows],
            "total_vat_eur": f"{report.total_vat_eur:.2f}",
        }
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for r in rows:
        typer.echo("  ".join(r).rstrip())
    typer.echo(f"{q.label}: {len(rows)} rows, VAT {report.total_vat_eur:.2f} EUR")
    if csv_path is not None:
        typer.echo(f"written: {csv_path}")
