"""Build ``countries.tsv``: names of every ITU Member State in the six UN languages.

Run once (or after upgrading babel/pycountry):

    .venv/bin/python pipeline/data/entities/build_countries.py

Sources, none typed by hand except the supplement:
- the member list ``itu_member_states.txt`` (ISO 3166 alpha-3; the 193 UN Members plus
  the Holy See, ITU's 194th Member State), generated once from pycountry by excluding
  the entries that are not UN Members (see ``NOT_MEMBERS`` below);
- CLDR territory names through babel (the short forms people write: "Russia",
  "Royaume-Uni", "США" is not in CLDR, "美国");
- pycountry's ISO 3166 names and their iso-codes translations (long and official
  forms: "Russian Federation", "Российская Федерация", "République arabe d'Égypte");
  inverted forms with a comma ("Corée, République de") are skipped;
- ``countries_extra.tsv``: a short hand-kept list of common forms none of the above
  has (abbreviations such as "USA", "США", "UK").
"""

from __future__ import annotations

import csv
import gettext
from pathlib import Path

import pycountry
from babel import Locale

HERE = Path(__file__).resolve().parent
LANGS = ("ar", "zh", "en", "fr", "ru", "es")
PYCOUNTRY_LOCALE = {"ar": "ar", "zh": "zh_CN", "fr": "fr", "ru": "ru", "es": "es"}

# pycountry entries that are not UN Member States (territories, dependencies, observers
# other than the Holy See). Everything else in ISO 3166-1 is a Member.
NOT_MEMBERS = set(
    "ABW AIA ALA ASM ATA ATF BES BLM BMU BVT CCK COK CUW CXR CYM ESH FLK FRO GGY GIB GLP "
    "GRL GUF GUM HKG HMD IMN IOT JEY MAC MAF MNP MSR MTQ MYT NCL NFK NIU PCN PRI PSE PYF "
    "REU SGS SHN SJM SPM SXM TCA TKL TWN UMI VGB VIR WLF".split()
)


def member_states() -> list[str]:
    """The 194 ITU Member States as alpha-3 codes (193 UN Members + the Holy See)."""
    codes = sorted(c.alpha_3 for c in pycountry.countries if c.alpha_3 not in NOT_MEMBERS)
    if len(codes) != 194:
        raise SystemExit(f"expected 194 ITU Member States, got {len(codes)}: check NOT_MEMBERS")
    return codes


def names_for(code: str) -> list[tuple[str, str, str]]:
    """(lang, name, source) rows for one country."""
    c = pycountry.countries.get(alpha_3=code)
    if c is None:
        raise ValueError(f"{code} is not an ISO 3166 alpha-3 code known to pycountry")
    rows: list[tuple[str, str, str]] = []
    for lang in LANGS:
        cldr = Locale.parse(lang).territories.get(c.alpha_2)
        if cldr:
            rows.append((lang, cldr, "cldr"))
        iso_names = [c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)]
        if lang == "en":
            translated = [n for n in iso_names if n]
        else:
            tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[PYCOUNTRY_LOCALE[lang]])
            translated = [tr.gettext(n) for n in iso_names[:2] if n]
            # An untranslated name comes back in English: not a form of this language.
            translated = [t for t, n in zip(translated, iso_names[:2], strict=False) if t != n or lang == "en"]
        rows += [(lang, n, "iso3166") for n in translated if n and "," not in n]
    return rows


def main() -> None:
    codes = member_states()
    (HERE / "itu_member_states.txt").write_text("\n".join(codes) + "\n", encoding="utf-8")
    seen: set[tuple[str, str, str]] = set()
    out: list[tuple[str, str, str, str]] = []
    for code in codes:
        for lang, name, source in names_for(code):
            key = (code, lang, name)
            if key not in seen:
                seen.add(key)
                out.append((f"country:{code}", lang, name, source))
    with open(HERE / "countries_extra.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"):
            key = (row["canonical_id"].split(":")[1], row["lang"], row["name"])
            if key not in seen:
                seen.add(key)
                out.append((row["canonical_id"], row["lang"], row["name"], "extra"))
    with open(HERE / "countries.tsv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["canonical_id", "lang", "name", "source"])
        w.writerows(out)
    print(f"wrote {len(out)} names for {len(codes)} Member States")


if __name__ == "__main__":
    main()
