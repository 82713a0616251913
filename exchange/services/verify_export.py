"""The verification report as a PDF to keep or print (A4, the reader's language), drawn with
reportlab and the registers' font (``exchange.services.register_export``): the verdict in
words, why, then each signature's details, as the web page and the printable HTML show them."""
from __future__ import annotations

import io
from xml.sax.saxutils import escape

from exchange.services.register_export import _font
from signing.report import Report, label_text, labelled_dn, value_text, verdict_text
from translations import Message, _l, translate


def report_pdf(report: Report, lang: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=19, alignment=1)
    verdict = ParagraphStyle("verdict", fontName=font, fontSize=12, leading=16)

    def say(value: Message | str | None) -> str:
        return translate(value, lang) if isinstance(value, Message) else (value or "—")

    def para(value: Message | str | None, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(say(value)), style)

    def table(rows: list[tuple[Message | str, Message | str | None]]) -> Table:
        grid = Table([[para(k), para(v)] for k, v in rows], colWidths=[50 * mm, 120 * mm])
        grid.setStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")])
        return grid

    data = report.to_json()
    story = [para(label_text("title"), title), Spacer(1, 4 * mm), para(report.message_ids[0], verdict)]
    story += [para(f"• {say(m)}") for m in report.message_ids[1:]]
    story += [Spacer(1, 3 * mm), table([(label_text("file_name"), data["document"]["file_name"]),
                                         (label_text("sha256"), data["sha256"]),
                                         (label_text("validated_at"), data["validated_at"])])]
    for sig, raw in zip(report.signatures, data["signatures"], strict=True):
        rows: list[tuple[Message | str, Message | str | None]] = [
            (label_text("field"), raw["field"]), (label_text("kind"), value_text(raw["kind"])),
            (label_text("signer"), raw["signer"]["name"]), (label_text("org"), raw["signer"]["organization"]),
            (_l("Verdict"), verdict_text(sig.indication, sig.sub_indication, sig.modification)),
            (label_text("signing_time"), raw["signing_time"]),
            (label_text("coverage"), value_text(raw["coverage"])),
            (label_text("modification"), value_text(raw["modification"])),
            (label_text("revocation"), value_text(raw["revocation"]["status"])),
            (label_text("serial"), raw["signer"]["serial"]), (label_text("issuer"), raw["signer"]["issuer"]),
            (label_text("chain"), "\n".join(labelled_dn(dn, lang) for dn in sig.chain)),
        ]
        story += [Spacer(1, 4 * mm), table(rows)]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                      bottomMargin=15 * mm, title=say(label_text("title"))).build(story)
    return out.getvalue()
