"""``efactura.toml`` is checked completely at start-up, by every command (issue 14): each bad
setting is one coded line in English and Romanian naming the file, the key and the fix, and
the command exits with code 2 before it opens the database or starts a worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stripe_efactura import cli
from stripe_efactura.config import STARTER_TOML, TEMPLATE_TOML, load_settings


@dataclass(frozen=True)
class Bad:
    name: str
    old: str
    new: str
    lines: list[str]
    """The expected lines, ``{f}`` standing for the settings file."""


ISO = '("RO-CJ"; Bucharest "RO-B")'
ISO_RO = '("RO-CJ"; București "RO-B")'

CASES = [
    Bad(
        "an unknown key (typo)",
        "vat_payer = true ",
        "vat_payr = false ",
        [
            (
                "[E-CONFIG-KEY] {f}: [company] vat_payr is not a known setting; did you mean "
                "vat_payer? / {f}: [company] vat_payr nu este o setare cunoscută; ați vrut să "
                "scrieți vat_payer?"
            )
        ],
    ),
    Bad(
        "a quoted boolean",
        "vat_payer = true ",
        'vat_payer = "false" ',
        [
            (
                '[E-CONFIG-TYPE] {f}: [company] vat_payer = "false" must be true or false (without '
                'quotes) / {f}: [company] vat_payer = "false" trebuie să fie true sau false (fără '
                "ghilimele)"
            )
        ],
    ),
    Bad(
        "a quoted boolean in [intake]",
        "process_test_events = true",
        'process_test_events = "no"',
        [
            (
                '[E-CONFIG-TYPE] {f}: [intake] process_test_events = "no" must be true or false '
                '(without quotes) / {f}: [intake] process_test_events = "no" trebuie să fie true '
                "sau false (fără ghilimele)"
            )
        ],
    ),
    Bad(
        "a CUI with a wrong check digit",
        'cui = "18547290"',
        'cui = "18547291"',
        [
            (
                '[E-CONFIG-CUI] {f}: [company] cui = "18547291" is not a valid CUI (check digit); '
                "copy it from the registration certificate, without RO / {f}: [company] cui = "
                '"18547291" nu este un CUI valid (cifra de control); copiați-l din certificatul de '
                "înregistrare, fără RO"
            )
        ],
    ),
    Bad(
        "the CUI missing",
        'cui = "18547290"           # CUI without RO\n',
        "",
        [
            (
                "[E-CONFIG-MISSING] {f}: [company] cui is missing: set the CUI / {f}: [company] "
                "cui "
                "lipsește: completați CUI-ul"
            )
        ],
    ),
    Bad(
        "an unknown county (never guessed from the postal code)",
        'county = "RO-B"',
        'county = "Narnia"',
        [
            (
                f'[E-CONFIG-COUNTY] {{f}}: [company.address] county = "Narnia" is not a Romanian '
                f'county; use ISO 3166-2:RO {ISO} / {{f}}: [company.address] county = "Narnia" nu '
                f"este un județ din România; folosiți ISO 3166-2:RO {ISO_RO}"
            )
        ],
    ),
    Bad(
        "a county that disagrees with the city",
        'city = "SECTOR1"\ncounty = "RO-B"',
        'city = "Cluj-Napoca"\ncounty = "RO-TM"',
        [
            (
                '[E-CONFIG-COUNTY] {f}: [company.address] county = "RO-TM" (RO-TM) does not agree '
                'with city "Cluj-Napoca" (RO-CJ) / {f}: [company.address] county = "RO-TM" (RO-TM) '
                "nu corespunde localității „Cluj-Napoca” (RO-CJ)"
            )
        ],
    ),
    Bad(
        "Bucharest without a sector",
        'city = "SECTOR1"',
        'city = "București"',
        [
            (
                '[E-CONFIG-COUNTY] {f}: [company.address] city = "București" names no sector: a '
                'Bucharest address has city = "SECTOR1".."SECTOR6" / {f}: [company.address] city = '
                '"București" nu indică sectorul: o adresă din București are city = '
                '"SECTOR1".."SECTOR6"'
            )
        ],
    ),
    Bad(
        "an IBAN with a wrong checksum",
        'iban = "RO49AAAA1B31007593840000"',
        'iban = "RO48AAAA1B31007593840000"',
        [
            (
                '[E-CONFIG-IBAN] {f}: [company] iban = "RO48AAAA1B31007593840000" is not a valid '
                "IBAN (checksum); copy it from the bank / {f}: [company] iban = "
                '"RO48AAAA1B31007593840000" nu este un IBAN valid (cifrele de control); copiați-l '
                "de la bancă"
            )
        ],
    ),
    Bad(
        "an unknown table",
        "[company.address]",
        "[company.adress]",
        [
            (
                "[E-CONFIG-KEY] {f}: [company] adress is not a known setting; did you mean "
                "address? "
                "/ {f}: [company] adress nu este o setare cunoscută; ați vrut să scrieți address?"
            ),
            (
                "[E-CONFIG-MISSING] {f}: [company.address] is missing: give line1, city, county "
                "and "
                "country / {f}: [company.address] lipsește: completați line1, city, county și "
                "country"
            ),
        ],
    ),
    Bad(
        "a quoted number",
        'prefix = "SEF"\npadding = 6',
        'prefix = "SEF"\npadding = "6"',
        [
            (
                '[E-CONFIG-TYPE] {f}: [series.invoice] padding = "6" must be a whole number '
                "(without "
                'quotes) / {f}: [series.invoice] padding = "6" trebuie să fie un număr întreg '
                "(fără "
                "ghilimele)"
            )
        ],
    ),
    Bad(
        "a VAT category that does not exist",
        'default_category = "S"',
        'default_category = "X"',
        [
            (
                '[E-CONFIG-VALUE] {f}: [vat] default_category = "X" is not a VAT category; use one '
                'of S Z E AE K G O / {f}: [vat] default_category = "X" nu este o categorie de '
                "TVA; folosiți una dintre S Z E AE K G O"
            )
        ],
    ),
    Bad(
        "a [storno] choice that does not exist",
        'lost_disputes = "ask"',
        'lost_disputes = "maybe"',
        [
            (
                '[E-CONFIG-VALUE] {f}: [storno] lost_disputes = "maybe" is not a choice; use one '
                'of ask, storno, ignore / {f}: [storno] lost_disputes = "maybe" nu este o '
                "opțiune; folosiți una dintre ask, storno, ignore"
            )
        ],
    ),
    Bad(
        "several findings at once, one line each",
        'name = "Firma Mea SRL"\ncui = "18547290"',
        'name = ""\ncui = "RO 123"',
        [
            (
                "[E-CONFIG-MISSING] {f}: [company] name is missing: set the company's name / {f}: "
                "[company] name lipsește: completați denumirea firmei"
            ),
            (
                '[E-CONFIG-CUI] {f}: [company] cui = "RO 123" is not a valid CUI (check digit); '
                "copy it from the registration certificate, without RO / {f}: [company] cui = "
                '"RO 123" nu este un CUI valid (cifra de control); copiați-l din certificatul de '
                "înregistrare, fără RO"
            ),
        ],
    ),
]


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "efactura.toml"
    monkeypatch.setenv("EFACTURA_CONFIG", str(path))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path / "data"))
    for name in ("EFACTURA_DATABASE_URL", "EFACTURA_PORT", "EFACTURA_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.mark.parametrize("command", [["payments", "list"], ["worker", "--once"], ["serve"]])
@pytest.mark.parametrize("bad", CASES, ids=[c.name for c in CASES])
def test_a_bad_setting_stops_every_command_with_coded_lines(
    bad: Bad, command: list[str], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bad.old in STARTER_TOML
    config.write_text(STARTER_TOML.replace(bad.old, bad.new, 1), encoding="utf-8")
    assert cli.main(command) == 2
    out = capsys.readouterr()
    assert out.err.splitlines() == [line.format(f=config) for line in bad.lines]
    assert out.out == ""
    assert not (config.parent / "data").exists()  # nothing opened, nothing created


def test_the_starter_file_and_the_template_pass(config: Path) -> None:
    config.write_text(STARTER_TOML, encoding="utf-8")
    assert load_settings().template is False
    config.write_text(TEMPLATE_TOML, encoding="utf-8")
    assert load_settings().template is True


def test_a_mistyped_config_path_is_an_error_not_a_new_starter_file(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = config.parent / "efactura.tml"
    for command in (["serve"], ["payments", "list"], ["db", "upgrade"]):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("EFACTURA_CONFIG", str(typo))
            assert cli.main(command) == 2
        assert capsys.readouterr().err == (
            f"[E-CONFIG-FILE] EFACTURA_CONFIG={typo}: no such file; check the path, or unset "
            f"EFACTURA_CONFIG to use ./efactura.toml / EFACTURA_CONFIG={typo}: fișierul nu "
            "există; verificați calea sau ștergeți EFACTURA_CONFIG pentru ./efactura.toml\n"
        )
        assert not typo.exists()


def test_init_writes_the_template_and_says_so(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["init"]) == 0  # `init` may create the file EFACTURA_CONFIG names
    assert config.read_text(encoding="utf-8") == TEMPLATE_TOML
    out = capsys.readouterr()
    assert out.err == (
        f"{config} is the starter template (placeholder company): live payments wait "
        "unnumbered until you fill in [company] and delete the `template = true` line, or run "
        "`stripe-efactura init --cui YOUR_CUI`. Test-mode payments are invoiced in the TEST "
        "series meanwhile.\n"
    )
    assert cli.main(["init"]) == 0  # once the file exists it is kept
    assert config.read_text(encoding="utf-8") == TEMPLATE_TOML
