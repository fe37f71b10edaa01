"""The console's words in Romanian (first) and English.

``t(lang, key, **values)`` looks a key up; a missing key is a bug (KeyError in tests), so the
catalog stays complete. States (payment, ANAF, email) have their own labels.
"""

from __future__ import annotations

from .i18n_month import MONTH

LANGS = ("ro", "en")

M: dict[str, tuple[str, str]] = {
    # chrome
    "app": ("stripe-efactura", "stripe-efactura"),
    "skip": ("Salt la conținut", "Skip to content"),
    "nav.home": ("Acasă", "Home"),
    "nav.inbox": ("De rezolvat", "Inbox"),
    "nav.payments": ("Plăți", "Payments"),
    "nav.invoices": ("Facturi", "Invoices"),
    "nav.anaf": ("ANAF", "ANAF"),
    "nav.settings": ("Setări", "Settings"),
    "nav.users": ("Utilizatori", "Users"),
    "nav.audit": ("Jurnal de audit", "Audit log"),
    "nav.menu": ("Meniu", "Menu"),
    "lang.switch": ("English", "Română"),
    "lang.label": ("Limba", "Language"),
    "logout": ("Ieșire", "Log out"),
    "signed_in_as": ("Conectat ca", "Signed in as"),
    # first run, login
    "setup.title": ("Prima pornire", "First run"),
    "setup.intro": (
        "Nu există încă niciun cont. Creați contul de administrator.",
        "No account exists yet. Create the administrator account.",
    ),
    "setup.bad_token": (
        (
            "Legătura de configurare nu este validă. Folosiți legătura afișată de "
            "`stripe-efactura serve` la pornire."
        ),
        "This set-up link is not valid. Use the link `stripe-efactura serve` printed at start.",
    ),
    "setup.submit": ("Creează administratorul", "Create the administrator"),
    "setup.done": ("Contul de administrator a fost creat.", "The administrator account exists."),
    "field.email": ("Email", "Email"),
    "field.name": ("Nume", "Name"),
    "field.password": ("Parolă", "Password"),
    "field.password2": ("Repetați parola", "Repeat the password"),
    "field.password.help": ("Cel puțin 12 caractere.", "At least 12 characters."),
    "field.role": ("Rol", "Role"),
    "password.mismatch": ("Parolele nu coincid.", "The passwords differ."),
    "login.title": ("Autentificare", "Log in"),
    "login.submit": ("Intră", "Log in"),
    "login.failed": (
        "Email sau parolă greșită.",
        "Wrong email or password.",
    ),
    "login.throttled": (
        "Prea multe încercări. Încercați din nou peste {minutes} minute.",
        "Too many attempts. Try again in {minutes} minutes.",
    ),
    "login.expired": (
        "Sesiunea a expirat. Autentificați-vă din nou.",
        "Your session expired. Please log in again.",
    ),
    "logged_out": ("V-ați deconectat.", "You are logged out."),
    "csrf.refused": (
        "Formularul a expirat sau nu vine din consolă. Reîncărcați pagina și încercați din nou.",
        "The form expired or did not come from the console. Reload the page and try again.",
    ),
    "forbidden": (
        "Rolul dumneavoastră nu permite această acțiune.",
        "Your role does not allow this action.",
    ),
    "not_found": ("Pagina nu există.", "Page not found."),
    # home
    "home.title": ("Situația de azi", "Today at a glance"),
    "home.ready": ("Toate componentele sunt pregătite.", "Every component is ready."),
    "home.fix": ("Remediere", "Fix"),
    "banner.deadlines": (
        "{count} facturi sunt aproape de termenul ANAF sau l-au depășit: {numbers}.",
        "{count} invoices are near or past their ANAF deadline: {numbers}.",
    ),
    "banner.deadlines.fix": (
        "Deschideți factura, corectați ce a raportat ANAF și retrimiteți-o.",
        "Open the invoice, fix what ANAF reported and send it again.",
    ),
    "home.today": ("Azi", "Today"),
    "home.month": ("Luna aceasta", "This month"),
    "home.payments": ("Plăți", "Payments"),
    "home.invoices": ("Facturi", "Invoices"),
    "home.stornos": ("Facturi storno", "Stornos"),
    "home.anaf_ok": ("ANAF validate", "ANAF ok"),
    "home.anaf_pending": ("ANAF în curs", "ANAF pending"),
    "home.anaf_nok": ("ANAF respinse", "ANAF rejected"),
    "home.amounts": ("Încasat", "Collected"),
    "home.attention": (
        "{count} plăți necesită atenție.",
        "{count} payments need attention.",
    ),
    "home.open_inbox": ("Deschide lista", "Open the inbox"),
    # inbox
    "inbox.title": ("De rezolvat", "Needs attention"),
    "inbox.empty": ("Nimic de rezolvat.", "Nothing needs attention."),
    "inbox.in_stripe": ("Vezi în Stripe", "Open in Stripe"),
    "inbox.what": ("Ce trebuie schimbat", "What to change"),
    "retry": ("Reîncearcă", "Retry"),
    "override.title": (
        "Date cumpărător (înlocuiesc datele din Stripe)",
        "Buyer data (overrides Stripe's)",
    ),
    "override.help": (
        (
            "Completați doar ce lipsește sau este greșit; restul vine din Stripe. Datele sunt "
            "verificate cu aceleași reguli ca cele din Stripe."
        ),
        (
            "Fill in only what is missing or wrong; the rest comes from Stripe. The data is "
            "checked with the same rules as Stripe's."
        ),
    ),
    "override.submit": ("Salvează și emite factura", "Save and issue the invoice"),
    "override.saved": (
        "Datele au fost salvate; factura se emite acum.",
        "Saved; the invoice is being issued now.",
    ),
    "field.legal_id": ("CUI sau CNP", "CUI or CNP"),
    "field.vat_id": ("Cod TVA (ex. RO123456)", "VAT id (e.g. RO123456)"),
    "field.line1": ("Adresă", "Address"),
    "field.city": ("Localitate", "City"),
    "field.state": ("Județ (cod, ex. CJ, B)", "County (code, e.g. CJ, B)"),
    "field.postal_code": ("Cod poștal", "Postal code"),
    "field.country": ("Țara (cod ISO, ex. RO)", "Country (ISO code, e.g. RO)"),
    "field.buyer_email": ("Email cumpărător", "Buyer email"),
    # lists
    "search": ("Caută", "Search"),
    "search.placeholder": ("nume, email, număr, pi_…", "name, email, number, pi_…"),
    "filter.status": ("Stare", "Status"),
    "filter.kind": ("Tip", "Kind"),
    "filter.anaf": ("Stare ANAF", "ANAF state"),
    "filter.mode": ("Mod", "Mode"),
    "filter.from": ("De la", "From"),
    "filter.to": ("Până la", "To"),
    "filter.any": ("Oricare", "Any"),
    "filter.apply": ("Filtrează", "Filter"),
    "mode.live": ("live", "live"),
    "mode.test": ("test", "test"),
    "page.first": ("Prima pagină", "First page"),
    "page.next": ("Înainte", "Next"),
    "waiting": ("Așteaptă", "Waiting"),
    "none": ("Nimic găsit.", "Nothing found."),
    "col.payment": ("Plată", "Payment"),
    "col.paid_at": ("Plătită", "Paid"),
    "col.amount": ("Sumă", "Amount"),
    "col.status": ("Stare", "Status"),
    "col.number": ("Număr", "Number"),
    "col.date": ("Data", "Date"),
    "col.total": ("Total", "Total"),
    "col.anaf": ("ANAF", "ANAF"),
    "col.email": ("Email", "Email"),
    "col.deadline": ("Termen ANAF", "ANAF deadline"),
    "col.kind": ("Tip", "Kind"),
    "col.owner": ("Sursa Stripe", "Stripe owner"),
    # payments
    "payments.title": ("Plăți", "Payments"),
    "payment.title": ("Plata {ref}", "Payment {ref}"),
    "payment.problems": ("Probleme", "Problems"),
    "payment.events": ("Webhook-uri Stripe", "Stripe webhooks"),
    "payment.invoices": ("Facturi", "Invoices"),
    "payment.reversals": ("Rambursări și dispute", "Refunds and disputes"),
    "payment.overrides": ("Date introduse în consolă", "Data typed in the console"),
    "payment.degraded": (
        "Construită doar din webhook (fără cheie API Stripe).",
        "Built from the webhook alone (no Stripe API key).",
    ),
    "dispute.title": ("Dispută pierdută: stornare?", "Lost dispute: storno?"),
    "dispute.help": (
        "Stornați doar o livrare anulată sau returnată (art. 287 Cod fiscal). Definitiv.",
        "Reverse only a cancelled or returned supply (art. 287 Fiscal Code). It is final.",
    ),
    "dispute.storno": ("Emite factura storno", "Issue the storno"),
    "dispute.no_storno": ("Fără stornare (închide disputa)", "No storno (close the dispute)"),
    "dispute.confirm": ("Confirm decizia (este definitivă)", "I confirm the decision (final)"),
    "dispute.submit": ("Trimite decizia", "Send the decision"),
    "dispute.storno.done": ("Stornarea disputei se emite acum.", "The dispute's storno is issued."),
    "dispute.no_storno.done": ("Disputa s-a închis fără stornare.", "Closed without a storno."),
    "payment.retried": ("Plata a fost pusă din nou în lucru.", "The payment was queued again."),
    # invoices
    "invoices.title": ("Facturi", "Invoices"),
    "invoice.title": ("Factura {number}", "Invoice {number}"),
    "invoice.downloads": ("Descărcări", "Downloads"),
    "invoice.pdf": ("PDF", "PDF"),
    "invoice.xml": ("XML (UBL)", "XML (UBL)"),
    "invoice.zip": ("ZIP semnat ANAF", "ANAF-signed ZIP"),
    "invoice.timeline": ("Istoric", "Timeline"),
    "invoice.findings": ("Erori raportate", "Reported findings"),
    "invoice.resend": ("Retrimite emailul", "Resend the email"),
    "invoice.resent": ("Emailul a fost trimis din nou.", "The email was sent again."),
    "invoice.outbox": (
        "Emailul a fost scris în dosarul outbox, nu a fost trimis: SMTP nu este configurat.",
        "The email was written to the outbox folder, not sent: SMTP is not configured.",
    ),
    "invoice.retry": ("Retrimite la ANAF", "Send to ANAF again"),
    "invoice.retried": (
        "Factura a fost pusă din nou la transmitere.",
        "The invoice is queued for upload again.",
    ),
    "invoice.storno": ("Stornează", "Storno"),
    "invoice.stornos": ("Facturi storno", "Storno invoices"),
    "invoice.refers_to": ("Stornează factura", "Reverses invoice"),
    "invoice.payment": ("Plata", "Payment"),
    "invoice.upload_index": ("Index încărcare", "Upload index"),
    "invoice.download_id": ("Id descărcare", "Download id"),
    "storno.title": ("Storno pentru factura {number}", "Storno of invoice {number}"),
    "storno.warning": (
        (
            "O factură storno anulează (total sau parțial) factura {number} și se transmite la "
            "ANAF. Operația nu poate fi anulată."
        ),
        (
            "A storno cancels invoice {number} (fully or in part) and is sent to ANAF. It cannot "
            "be undone."
        ),
    ),
    "storno.amount": ("Sumă (gol = integral)", "Amount (empty = in full)"),
    "storno.reason": ("Motiv", "Reason"),
    "storno.confirm": ("Confirm: emite factura storno", "Confirm: issue the storno"),
    "storno.cancel": ("Renunță", "Cancel"),
    "storno.done": ("Factura storno a fost pusă la emitere.", "The storno is being issued."),
    "invoice.reissue": ("Refacturează pe firmă", "Re-issue to a company"),
    "reissue.title": ("Refacturare pentru factura {number}", "Re-issue of invoice {number}"),
    "reissue.warning": (
        (
            "Factura {number} se stornează integral și se emite o factură nouă, pentru aceeași "
            "vânzare, cumpărătorului de mai jos; amândouă se transmit la ANAF. Operația nu "
            "poate fi anulată."
        ),
        (
            "Invoice {number} is reversed in full and a new invoice of the same sale is issued "
            "to the buyer below; both are sent to ANAF. It cannot be undone."
        ),
    ),
    "reissue.company": ("Denumirea firmei", "Company name"),
    "reissue.cui": ("CUI sau cod TVA (ex. RO14399840)", "CUI or VAT id (e.g. RO14399840)"),
    "reissue.confirm": (
        "Confirm: stornează și emite factura nouă",
        "Confirm: reverse and issue the new invoice",
    ),
    "reissue.done": (
        "Factura storno și factura nouă au fost puse la emitere.",
        "The storno and the new invoice are being issued.",
    ),
    # ANAF
    "anaf.title": ("ANAF e-Factura", "ANAF e-Factura"),
    "anaf.authorised": ("Autorizat", "Authorised"),
    "anaf.not_authorised": ("Neautorizat", "Not authorised"),
    "anaf.cui": ("CUI", "CUI"),
    "anaf.env": ("Mediu", "Environment"),
    "anaf.access_expires": ("Token de acces expiră", "Access token expires"),
    "anaf.refresh_expires": ("Autorizarea expiră", "Authorisation expires"),
    "anaf.reauth_in": ("Reautorizați în {days} zile", "Authorise again within {days} days"),
    "anaf.authorise": ("Autorizează la ANAF", "Authorise at ANAF"),
    "anaf.authorise.help": (
        (
            "Deschideți pe calculatorul cu certificatul calificat (token USB). ANAF vă trimite "
            "înapoi aici după consimțământ."
        ),
        (
            "Use the computer with the qualified certificate (USB token). ANAF sends you back "
            "here after consent."
        ),
    ),
    "anaf.quota": ("Cereri ANAF azi", "ANAF calls today"),
    "anaf.quota.none": ("Nicio cerere limitată azi.", "No limited calls today."),
    "anaf.quota.kind": ("Tip", "Kind"),
    "anaf.quota.used": ("Folosite / limită", "Used / limit"),
    "anaf.deadlines": ("Termene în pericol", "Deadlines at risk"),
    "anaf.deadlines.none": ("Niciun termen în pericol.", "No deadline at risk."),
    "anaf.error": (
        "Autorizarea nu poate porni: {error}",
        "The authorisation cannot start: {error}",
    ),
    # settings
    "settings.title": ("Configurația efectivă", "Effective configuration"),
    "settings.intro": (
        "Valorile folosite acum (variabile EFACTURA_* și efactura.toml). Secretele sunt mascate.",
        "The values in use (EFACTURA_* variables and efactura.toml). Secrets are masked.",
    ),
    "settings.name": ("Setare", "Setting"),
    "settings.value": ("Valoare", "Value"),
    "settings.unset": ("(nesetat)", "(not set)"),
    "settings.findings": ("Observații", "Findings"),
    # users, audit
    "users.title": ("Utilizatori și tokenuri API", "Users and API tokens"),
    "users.add": ("Adaugă utilizator", "Add a user"),
    "users.disable": ("Dezactivează", "Disable"),
    "users.disabled": ("dezactivat", "disabled"),
    "users.tokens": ("Tokenuri API", "API tokens"),
    "users.token_add": ("Creează token", "Create a token"),
    "users.token_name": ("Denumire", "Name"),
    "users.token_scope": ("Drepturi", "Scope"),
    "users.token_shown_once": (
        "Copiați tokenul acum; nu va mai fi afișat:",
        "Copy the token now; it will not be shown again:",
    ),
    "users.revoke": ("Revocă", "Revoke"),
    "users.last_used": ("Ultima folosire", "Last used"),
    "users.created": ("Creat", "Created"),
    "audit.title": ("Jurnal de audit", "Audit log"),
    "audit.when": ("Când", "When"),
    "audit.who": ("Cine", "Who"),
    "audit.action": ("Acțiune", "Action"),
    "audit.target": ("Obiect", "Target"),
    "audit.ip": ("IP", "IP"),
    "audit.change": ("Modificare", "Change"),
    "op.reconcile": ("Reconciliere cu Stripe", "Reconcile with Stripe"),
    "op.reconcile.help": (
        (
            "Citește din Stripe evenimentele din ultimele zile și le trece prin aceeași intrare "
            "ca webhook-urile: ce lipsește se facturează, nimic nu se dublează."
        ),
        (
            "Reads the events of the last days from Stripe and feeds them through the same "
            "intake as the webhooks: what is missing gets invoiced, nothing is duplicated."
        ),
    ),
    "op.days": ("Zile (1-30)", "Days (1-30)"),
    "op.start": ("Pornește reconcilierea", "Start the reconciliation"),
    "op.seen": ("Evenimente citite", "Events read"),
    "op.new": ("Evenimente noi", "New events"),
    "op.running": (
        "În lucru… pagina se actualizează singură.",
        "Running… this page refreshes itself.",
    ),
    "op.finished": ("Gata.", "Done."),
    "op.failed": ("Oprită cu eroare: {error}", "Stopped with an error: {error}"),
    "yes": ("da", "yes"),
    "no": ("nu", "no"),
    "error": ("Eroare", "Error"),
}

STATES: dict[str, tuple[str, str]] = {
    "pending": ("în lucru", "pending"),
    "invoiced": ("facturată", "invoiced"),
    "needs_attention": ("necesită atenție", "needs attention"),
    "ignored": ("ignorată", "ignored"),
    "failed": ("eșuată", "failed"),
    "payment": ("plată", "payment"),
    "refund": ("rambursare", "refund"),
    "dispute": ("dispută", "dispute"),
    "invoice": ("factură", "invoice"),
    "storno": ("storno", "storno"),
    "pending_upload": ("de transmis", "to upload"),
    "uploading": ("se transmite", "uploading"),
    "uploaded": ("transmisă", "uploaded"),
    "in_processing": ("în prelucrare", "in processing"),
    "ok": ("validată", "ok"),
    "nok": ("respinsă", "rejected"),
    "rejected_at_upload": ("respinsă la încărcare", "rejected at upload"),
    "unknown": ("necunoscut", "unknown"),
    "not_uploaded": ("netransmisă", "not uploaded"),
    "test_only": ("doar test", "test only"),
    "queued": ("în coadă", "queued"),
    "sent": ("trimis", "sent"),
    "no_recipient": ("fără destinatar", "no recipient"),
    "disabled": ("oprit", "disabled"),
    "outbox": ("în outbox", "in the outbox"),
    "overdue": ("depășit", "overdue"),
    "due": ("scadent", "due"),
    "admin": ("administrator", "administrator"),
    "accountant": ("contabil", "accountant"),
    "viewer": ("vizualizare", "viewer"),
    "read": ("citire", "read"),
    "write": ("scriere", "write"),
}


M.update(MONTH)


def t(lang: str, key: str, **values: object) -> str:
    text = M[key][1 if lang == "en" else 0]
    return text.format(**values) if values else text


def state(lang: str, value: object) -> str:
    """The label of a state; an unknown state is shown as it is stored."""
    pair = STATES.get(str(value))
    if pair is None:
        return str(value)
    return pair[1 if lang == "en" else 0]


def pick(lang: str, ro: str | None, en: str | None) -> str:
    """A message given in both languages: the one of ``lang``, else the other."""
    first, second = (en, ro) if lang == "en" else (ro, en)
    return first or second or ""
