"""The catalogue entries of stornos: refunds, returned items, lost disputes (docs/storno.md)."""

from __future__ import annotations

from .problem_spec import ProblemSpec

STORNO_SPECS: tuple[ProblemSpec, ...] = (
    ProblemSpec(
        "P-STORNO-NO-ORIGINAL",
        "refers_to",
        "Rambursarea {key} se referă la plata {value}, pentru care nu există o factură.",
        "The refund {key} refers to payment {value}, which has no invoice.",
        "Check that the original payment reached the service (`payments list`); feed its events "
        "with `ingest` or `reconcile`, then run `payments retry` for the refund.",
        "Verificați că plata inițială a ajuns în serviciu (`payments list`); trimiteți-i "
        "evenimentele cu `ingest` sau `reconcile`, apoi rulați `payments retry` pentru rambursare.",
    ),
    ProblemSpec(
        "P-STORNO-TOO-LARGE",
        "amount",
        "Rambursarea {key} ({value}) depășește ce a rămas de stornat din factura {name} "
        "({lines_total}).",
        "The refund {key} ({value}) exceeds what is left to reverse on invoice {name} "
        "({lines_total}).",
        "Check the refunds of the payment in Stripe; correct the invoice by hand if Stripe "
        "refunded more than was invoiced.",
        "Verificați rambursările plății în Stripe; corectați manual factura dacă Stripe a "
        "rambursat mai mult decât s-a facturat.",
    ),
    ProblemSpec(
        "P-STORNO-ITEMS-INVALID",
        "metadata.efactura_items",
        "Rambursarea {key}: metadata efactura_items nu poate fi citită ({value}).",
        "Refund {key}: its efactura_items metadata cannot be read ({value}).",
        'Fix the refund\'s metadata in Stripe (a JSON array such as [{"line": 1, "quantity": '
        "2}]), then run `payments retry` for the refund.",
        'Corectați metadata rambursării în Stripe (un tablou JSON ca [{"line": 1, "quantity": '
        "2}]), apoi rulați `payments retry` pentru rambursare.",
    ),
    ProblemSpec(
        "P-STORNO-ITEMS-UNKNOWN",
        "metadata.efactura_items",
        "Rambursarea {key} numește {value}, care nu este pe factura {name}.",
        "Refund {key} names {value}, which is not on invoice {name}.",
        'Use the line number printed on the invoice ("line") or the line\'s product id '
        '("item"), then run `payments retry` for the refund.',
        'Folosiți numărul liniei de pe factură ("line") sau codul produsului ("item"), '
        "apoi rulați `payments retry` pentru rambursare.",
    ),
    ProblemSpec(
        "P-STORNO-ITEMS-QUANTITY",
        "metadata.efactura_items",
        "Rambursarea {key}: cantitatea returnată ({value}) depășește cantitatea facturată "
        "pe factura {name}.",
        "Refund {key}: the returned quantity ({value}) is more than invoice {name} billed.",
        "Correct the quantity in the refund's efactura_items, then run `payments retry`.",
        "Corectați cantitatea în efactura_items a rambursării, apoi rulați `payments retry`.",
    ),
    ProblemSpec(
        "P-STORNO-ITEMS-MISMATCH",
        "amount",
        "Rambursarea {key}: articolele returnate valorează {value}, dar suma rambursată este "
        "{lines_total}.",
        "Refund {key}: the returned items are worth {value} but the refund is {lines_total}.",
        'Give each item\'s refunded amount ("amount") in efactura_items so that they add up '
        "to the refund, then run `payments retry`.",
        'Indicați suma rambursată pentru fiecare articol ("amount") în efactura_items, '
        "astfel încât totalul să fie suma rambursată, apoi rulați `payments retry`.",
    ),
    ProblemSpec(
        "P-DISPUTE-DECISION",
        "dispute",
        "Disputa {key} a fost pierdută ({value}): decideți dacă factura {name} se stornează.",
        "Dispute {key} was lost ({value}): decide whether invoice {name} is reversed.",
        "A chargeback where the buyer kept the goods has no clear basis for reducing the "
        "taxable amount (art. 287 Cod fiscal): ask your accountant, then run `payments dispute "
        "KEY --storno` or `--no-storno` (or set [storno] lost_disputes in efactura.toml).",
        "O dispută pierdută în care cumpărătorul a păstrat bunurile nu are un temei clar de "
        "reducere a bazei impozabile (art. 287 Cod fiscal): întrebați contabilul, apoi rulați "
        "`payments dispute CHEIE --storno` sau `--no-storno` (sau setați [storno] "
        "lost_disputes în efactura.toml).",
    ),
)
