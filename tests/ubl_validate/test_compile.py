"""Compiling the official .sch ourselves: abstract patterns, the generated XSLT, the cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from stripe_efactura.ubl import artifacts, schematron
from stripe_efactura.ubl.validate import Validator

SCH = "http://purl.oclc.org/dsdl/schematron"


def test_abstract_patterns_expand_in_parameter_order() -> None:
    schema = etree.fromstring(
        f"""<schema xmlns="{SCH}">
  <pattern abstract="true" id="model">
    <rule context="$Seller_postal_address">
      <assert test="$Seller and cbc:X" id="R-1" flag="fatal"
        >[R-1]-text $Seller<!-- c -->tail</assert>
    </rule>
  </pattern>
  <pattern is-a="model" id="bound">
    <param name="Seller_postal_address" value="cac:Seller/cac:PostalAddress"/>
    <param name="Seller" value="cac:Seller"/>
  </pattern>
</schema>""".encode()
    )
    schematron.expand_abstract_patterns(schema)
    assert etree.tostring(schema, encoding="unicode") == (
        f'<schema xmlns="{SCH}">\n'
        "  <!--Suppressed abstract pattern model was here-->\n"
        '  <pattern id="bound">\n'
        '    <rule context="cac:Seller/cac:PostalAddress">\n'
        '      <assert test="cac:Seller and cbc:X" id="R-1" flag="fatal">'
        "[R-1]-text cac:Sellertail</assert>\n"
        "    </rule>\n"
        "  </pattern>\n"
        "</schema>"
    )


def test_generated_stylesheet(installed: artifacts.ArtifactSet, validator: Validator) -> None:
    text = schematron.cache_path(installed).read_text(encoding="utf-8")
    doc = etree.fromstring(text.encode("utf-8"))
    svrl = "{http://purl.oclc.org/dsdl/svrl}"
    assert doc.get("version") == "2.0"
    asserts = list(doc.iter(f"{svrl}failed-assert"))
    reports = list(doc.iter(f"{svrl}successful-report"))
    # every assert / report of the 6 included files, abstract patterns instantiated
    assert (len(asserts), len(reports)) == (1090, 8)
    assert list(doc.iter(f"{svrl}fired-rule")) == []
    ids = [el.find("{http://www.w3.org/1999/XSL/Transform}attribute") for el in asserts]
    assert all(a is not None and a.get("name") == "id" for a in ids)


def test_same_rules_as_the_reference_stylesheet(
    installed: artifacts.ArtifactSet, validator: Validator, validation_src: Path
) -> None:
    svrl = "{http://purl.oclc.org/dsdl/svrl}"
    ours = etree.fromstring(schematron.cache_path(installed).read_bytes())
    ref = etree.parse(
        str(validation_src / "cius-ro-1.0.9/xslt/EN16931-CIUS_RO-UBL-validation.xslt")
    ).getroot()

    def rules(doc: etree._Element) -> list[tuple[str, ...]]:
        out = []
        for tag in ("failed-assert", "successful-report"):
            for el in doc.iter(f"{svrl}{tag}"):
                attrs = {
                    a.get("name"): "".join(a.itertext())
                    for a in el.iterfind("{http://www.w3.org/1999/XSL/Transform}attribute")
                }
                found = el.find(f"{svrl}text")
                assert found is not None
                text = " ".join("".join(found.itertext()).split())
                out.append((tag, attrs["id"], attrs["flag"], str(el.get("test")), text))
        return sorted(out)

    assert rules(ours) == rules(ref)


def test_compiled_xslt_comes_from_the_cache(
    installed: artifacts.ArtifactSet, validator: Validator, tmp_path: Path
) -> None:
    """A second installation reuses a cache file with the same key (here: a stand-in that
    reports one fake finding, which proves the file is what runs)."""
    dest = tmp_path / "v"
    shutil.copytree(installed.root, dest, ignore=shutil.ignore_patterns(".cache"))
    copy = artifacts.verify(dest)
    assert schematron.cache_path(copy).name == schematron.cache_path(installed).name
    schematron.cache_path(copy).parent.mkdir()
    schematron.cache_path(copy).write_text(
        """<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
 xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
<xsl:template match="/"><svrl:schematron-output>
<svrl:failed-assert id="FROM-CACHE" flag="warning" location="/" test="true()">
<svrl:text>[FROM-CACHE]-ro#en</svrl:text></svrl:failed-assert>
</svrl:schematron-output></xsl:template></xsl:stylesheet>""",
        encoding="utf-8",
    )
    report = Validator(dest).validate(b"<Invoice xmlns='x'/>")  # wrong root: no schematron
    assert report.rule_ids() == [("XSD", "xsd")]
    report = Validator(dest).validate(TINY_VALID_INVOICE)
    assert report.rule_ids() == [("FROM-CACHE", "warning")]
    finding = report.findings[0]
    assert (finding.message_ro, finding.message_en, finding.location) == ("ro", "en", "/")
    # the session validator, compiled from the .sch, sees the real rules on the same bytes
    assert ("FROM-CACHE", "warning") not in validator.validate(TINY_VALID_INVOICE).rule_ids()


TINY_VALID_INVOICE = (
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
    b'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
    b"<cbc:ID>1</cbc:ID><cbc:IssueDate>2026-11-20</cbc:IssueDate>"
    b"<cac:AccountingSupplierParty><cac:Party/></cac:AccountingSupplierParty>"
    b"<cac:AccountingCustomerParty><cac:Party/></cac:AccountingCustomerParty>"
    b'<cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="RON">1</cbc:PayableAmount>'
    b"</cac:LegalMonetaryTotal>"
    b'<cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:LineExtensionAmount currencyID="RON">1'
    b"</cbc:LineExtensionAmount><cac:Item/></cac:InvoiceLine></Invoice>"
)
"""Valid against the UBL 2.1 XSD (and far from valid CIUS-RO)."""


def test_cache_key_follows_the_compiler_version(
    installed: artifacts.ArtifactSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schematron.cache_key(installed)
    assert len(before) == 64
    monkeypatch.setattr(schematron, "COMPILER_VERSION", "test")
    assert schematron.cache_key(installed) != before


def test_compilation_is_deterministic(
    installed: artifacts.ArtifactSet, validator: Validator
) -> None:
    fresh = schematron.compile_schematron(installed.schematron_entry)
    assert fresh == schematron.cache_path(installed).read_text(encoding="utf-8")


def test_one_saxon_compilation_per_process_and_cache_file(
    installed: artifacts.ArtifactSet, validator: Validator
) -> None:
    assert schematron.load(installed) is schematron.load(artifacts.verify(installed.root))
    assert Validator(installed.root)._schematron is None  # lazy
    other = Validator(installed.root)
    other.load()
    assert other._schematron is schematron.load(installed)


def test_a_saxon_failure_is_a_blocking_finding(
    installed: artifacts.ArtifactSet, tmp_path: Path
) -> None:
    dest = tmp_path / "v"
    shutil.copytree(installed.root, dest, ignore=shutil.ignore_patterns(".cache"))
    path = schematron.cache_path(artifacts.verify(dest))
    path.parent.mkdir()
    path.write_text(
        """<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:template match="/"><xsl:value-of select="error((), 'boom')"/></xsl:template>
</xsl:stylesheet>""",
        encoding="utf-8",
    )
    report = Validator(dest).validate(TINY_VALID_INVOICE)
    assert report.rule_ids() == [("SCHEMATRON", "fatal")]
    assert not report.ok
    assert report.findings[0].message_en.startswith("The schematron validation failed: ")
    assert "boom" in report.findings[0].message_en
