"""The console's words for the accountant's month (``/month``), Romanian first; merged into
:data:`i18n.M`."""

from __future__ import annotations

MONTH: dict[str, tuple[str, str]] = {
    "nav.month": ("Luna", "Month"),
    "month.title": ("Închiderea lunii", "Closing the month"),
    "month.help": (
        (
            "Alegeți luna (sau zilele). Auditul compară banii din Stripe, facturile și "
            "SPV-ul ANAF; jurnalul de vânzări și arhiva perioadei se descarcă de aici."
        ),
        (
            "Pick the month (or the days). The audit compares Stripe's money, the invoices "
            "and ANAF's SPV; the sales journal and the period archive are downloaded here."
        ),
    ),
    "month.period": ("Luna", "Month"),
    "month.test": ("Facturi de test (seria TEST)", "Test-mode invoices (TEST series)"),
    "month.choose": ("Alege", "Choose"),
    "month.selected": ("Perioada {period}", "Period {period}"),
    "month.no_spv": ("Fără SPV", "Without the SPV"),
    "month.run": ("Pornește auditul", "Run the audit"),
    "month.downloads": ("Descărcări", "Downloads"),
    "month.journal_csv": ("Jurnal de vânzări (CSV)", "Sales journal (CSV)"),
    "month.journal_xlsx": ("Jurnal de vânzări (XLSX)", "Sales journal (XLSX)"),
    "month.archive": ("Arhiva perioadei (ZIP)", "Period archive (ZIP)"),
    "month.archive.help": (
        "XML, PDF și ZIP-ul semnat ANAF al fiecărui document, jurnalul și manifestul SHA-256.",
        "Every document's XML, PDF and ANAF-signed ZIP, the journal and the SHA-256 manifest.",
    ),
    "month.runs": ("Audituri pornite", "Audits started"),
    "month.state.running": ("în lucru", "running"),
    "month.state.done": ("gata", "done"),
    "month.state.failed": ("eșuat", "failed"),
    "month.audit_of": ("Auditul perioadei {period}", "Audit of {period}"),
    "month.clean": (
        "Nicio constatare: perioada este în regulă.",
        "No finding: the period is clean.",
    ),
    "month.findings_n": ("{n} constatări", "{n} findings"),
    "month.counts": (
        "{stripe} tranzacții Stripe, {payouts} transferuri, {documents} documente, {spv} SPV",
        "{stripe} Stripe transactions, {payouts} payouts, {documents} documents, {spv} SPV",
    ),
    "month.findings": ("Constatări", "Findings"),
    "month.code": ("Cod", "Code"),
    "month.ref": ("Referință", "Reference"),
    "month.what": ("Ce", "What"),
    "month.fix": ("Cum se rezolvă", "How to fix it"),
    "month.open": ("Deschide", "Open"),
    "month.totals": ("Totaluri pe constatare", "Totals per finding"),
    "month.payouts": ("Transferuri Stripe (payouts)", "Stripe payouts"),
    "month.payout": ("Transfer", "Payout"),
    "month.fees": ("Comisioane Stripe", "Stripe fees"),
    "month.balanced": ("Se potrivește", "Balances"),
    "month.unmatched": ("fără document", "no document"),
}
