"""Text clean-up of ingestion: characters, hyphens, running lines, columns, offsets."""

from __future__ import annotations

from pipeline.extract_pdf import logical_rtl
from pipeline.textnorm import (
    BREAK,
    Hyphenation,
    Line,
    PageLines,
    Para,
    clean_chars,
    join_lines,
    layout_document,
    order_columns,
    paragraphs_from_plain,
    remove_running_lines,
    resolve_breaks,
    split_footnotes,
)


def test_ingest_textnorm_clean_chars_folds_letters_not_punctuation():
    assert clean_chars("ﬁnal ﬂow") == "final flow"
    # Arabic presentation forms become base letters (lam-alef ligature -> two letters).
    assert clean_chars("\ufefb") == "لا"
    # Chinese full-width punctuation and the ellipsis stay as written.
    assert clean_chars("互联网，发展…") == "互联网，发展…"
    assert clean_chars("soft\u00adhyphen\u200b  two") == "softhyphen two"


def test_ingest_textnorm_dehyphenation_keeps_real_compounds():
    hyph = Hyphenation.from_texts(["the cross-border link", "low earth orbit"])
    assert join_lines("telecommu-", "nication") == "telecommunication"
    assert join_lines("the e-", "waste problem") == "the e-waste problem"
    assert join_lines("the ITU-", "D sector") == "the ITU-D sector"
    assert join_lines("open cross-", "border fibre", hyph=hyph) == "open cross-border fibre"
    assert resolve_breaks("new low" + BREAK + "earth orbit", hyph) == "new low-earth orbit"
    assert resolve_breaks("propo" + BREAK + "sitions", hyph) == "propositions"


def test_ingest_textnorm_chinese_lines_join_without_space():
    assert join_lines("互联网治理", "论坛") == "互联网治理论坛"
    assert join_lines("the", "Internet") == "the Internet"


def _line(text: str, y: float, x0: float = 72, x1: float = 520, size: float = 11) -> Line:
    return Line(text, x0, x1, y + 10, y, size)


BODIES = ["Connectivity is the first question.", "Landlocked countries pay more.", "We thank the group."]


def test_ingest_textnorm_running_headers_and_page_numbers_go():
    pages = [
        PageLines([_line("Ministry of ICT", 800), _line(body, 700), _line(f"Page {i} / 3", 40, 280, 320)],
                  595, 842)
        for i, body in enumerate(BODIES, start=1)
    ]
    kept = remove_running_lines(pages)
    assert [ln.text for p in kept for ln in p.lines] == BODIES


def test_ingest_textnorm_two_columns_read_column_by_column():
    left = [_line(f"left line {i} of the first column text", 700 - 14 * i, 72, 290) for i in range(6)]
    right = [_line(f"right line {i} of the second column text", 700 - 14 * i, 310, 520) for i in range(6)]
    # Stream order interleaves the columns, as some producers write them.
    mixed = [ln for pair in zip(left, right, strict=True) for ln in pair]
    page = order_columns(PageLines(mixed, 595, 842))
    assert [ln.text for ln in page.lines] == [ln.text for ln in left + right]


def test_ingest_textnorm_footnotes_leave_the_body():
    lines = [_line(f"Body line {i} of a long paragraph about connectivity", 700 - 14 * i) for i in range(5)]
    lines += [_line("1 A footnote about the source.", 90, size=9), _line("more of the note.", 80, size=9)]
    page = split_footnotes(PageLines(lines, 595, 842))
    assert page.footnotes == ["A footnote about the source. more of the note."]
    assert all("footnote" not in ln.text for ln in page.lines)


def test_ingest_textnorm_paragraph_continues_over_page_break_and_offsets_hold():
    pages = [
        [Para("First paragraph ends here."), Para("Second paragraph runs", open_end=True)],
        [Para("over the page break."), Para("A note.", is_note=True)],
    ]
    layout = layout_document(pages)
    assert layout.text == "First paragraph ends here.\n\nSecond paragraph runs over the page break.\n\nA note."
    for page_no, start, end in layout.segments:
        assert layout.text[start:end] in {"First paragraph ends here.",
                                          "Second paragraph runs over the page break.", "A note."}
        assert page_no in (1, 2)
    assert [s[0] for s in layout.segments] == [1, 1, 2]


def test_ingest_textnorm_plain_paragraphs():
    assert paragraphs_from_plain("a line\nwrapped here\n\n\nnext para\r\n") == ["a line wrapped here", "next para"]


def test_ingest_textnorm_rtl_visual_to_logical():
    # On the page, left to right: the second Arabic word (letters reversed), the Latin
    # run and its number as written, then the first Arabic word.
    first, second = "الاتحاد", "الدولي"
    visual = list(second[::-1] + " ITU 2030 " + first[::-1])
    assert logical_rtl(visual) == f"{first} ITU 2030 {second}"
    # A number after Arabic text with an Arabic percent sign: LibreOffice lays the sign
    # to the left of the digits.
    assert logical_rtl(list("٪15 " + "نحو"[::-1])) == "نحو 15٪"
