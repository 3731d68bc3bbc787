"""Theme files: the bundled set is valid, bad files fail with messages that say what to fix,
a corpus folder's own themes take precedence, and discovery mode needs no file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from themes_helpers import serial, tables, with_themes

from pipeline.config import Config
from pipeline.schemas import UN_LANGUAGES, validate
from pipeline.theme_defs import ThemeFileError, load_theme_set, parse_theme_file
from pipeline.themes import fit_themes

CWG_THEMES = {
    "ott",
    "connectivity",
    "covid19",
    "environment",
    "sustainable_dev",
    "idn",
    "internet_governance",
}


def good_theme(tid: str = "spam", n_terms: int = 20) -> dict:
    words = {
        lang: [f"{lang}word{i}" if lang != "zh" else f"垃圾邮件{i}" for i in range(n_terms)]
        for lang in UN_LANGUAGES
    }
    words["en"] = ["spam", "unsolicited email", "junk mail"] + [
        f"spamword{i}" for i in range(n_terms)
    ]
    return {
        "id": tid,
        "name": "Spam",
        "description": "Unsolicited bulk messages.",
        "questions": ["How should spam be fought?"],
        "seeds": [{"concept": "spam", **words}],
    }


def write(folder: Path, data: dict | str, name: str = "spam") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(
        data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True),
        encoding="utf-8",
    )
    return path


def test_bundled_theme_set_is_valid() -> None:
    themes = load_theme_set("cwg_internet")
    assert {t.id for t in themes} == CWG_THEMES
    for t in themes:
        assert t.questions and t.description
        for lang in UN_LANGUAGES:
            assert sum(len(c.terms.get(lang, ())) for c in t.concepts) >= 20, (t.id, lang)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("seeds"), "lacks required key(s) ['seeds']"),
        (lambda d: d.update(id="other_name"), "must equal the file name 'spam'"),
        (lambda d: d.update(id="other"), "reserved"),
        (lambda d: d["seeds"][0].update(xx=["a"]), "unknown key(s) ['xx']"),
        (lambda d: d["seeds"][0].update(ru=["один"]), "has 1 seed term(s) in 'ru'"),
        (lambda d: d["seeds"][0].update(fr=[""]), "every entry must be a non-empty string"),
        (lambda d: d["seeds"][0].update(weight=-1), "weight must be a number in (0, 10]"),
        (lambda d: d.update(questions="one question"), "questions must be a non-empty list"),
        (lambda d: d.update(extra=1), "unknown key(s) ['extra']"),
    ],
)
def test_bad_theme_file_says_what_is_wrong(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = good_theme()
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(ThemeFileError) as err:
        parse_theme_file(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_invalid_yaml_and_missing_set(tmp_path: Path) -> None:
    path = write(tmp_path, "id: [unclosed")
    with pytest.raises(ThemeFileError, match="is not valid YAML"):
        parse_theme_file(path)
    with pytest.raises(ThemeFileError, match="theme set 'nope' not found"):
        load_theme_set("nope", corpus=tmp_path)


def test_corpus_themes_folder_takes_precedence(tmp_path: Path) -> None:
    write(tmp_path / "themes" / "cwg_internet", good_theme())
    docs = [
        (
            "d1",
            "en",
            ["Spam and unsolicited email flood our users; junk mail filters help against spam."],
        )
    ]
    segments, languages, documents = tables(docs)
    themes, _ = fit_themes(segments, languages, documents, serial(Config()), corpus=tmp_path)
    doc = themes[themes["seg_id"].isna() & themes["is_primary"]]
    assert doc["theme"].tolist() == ["spam"]


def test_discover_mode_needs_no_theme_file(tmp_path: Path) -> None:
    docs = [
        (f"d{i}", lang, [text] * 1)
        for i, (lang, text) in enumerate(
            [("en", f"Broadband towers and fibre for rural villages, plan {i}.") for i in range(8)]
            + [
                ("en", f"Vaccines, hospitals and pandemic lockdown measures, report {i}.")
                for i in range(8)
            ]
        )
    ]
    segments, languages, documents = tables(docs)
    cfg = with_themes(
        serial(Config()), theme_set="discover", discover_max_themes=3, stability_runs=3
    )
    themes, subthemes = fit_themes(segments, languages, documents, cfg, corpus=tmp_path)
    validate("themes", themes)
    validate("subthemes", subthemes)
    doc_primary = themes[themes["seg_id"].isna() & themes["is_primary"]].set_index("doc_id")[
        "theme"
    ]
    assert doc_primary.str.startswith("topic_").all()
    # The two kinds of document land in different discovered themes.
    assert doc_primary["d0"] != doc_primary["d8"]
    assert len(set(doc_primary[[f"d{i}" for i in range(8)]])) == 1
    assert subthemes["criterion"].str.contains("discovered theme").all()
