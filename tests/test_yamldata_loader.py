"""The fast YAML loader reads every data file exactly as ``yaml.safe_load`` does and
refuses what the safe loader refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.yamldata import load_yaml

DATA = Path(__file__).resolve().parents[1] / "pipeline" / "data"


@pytest.mark.parametrize("path", sorted(DATA.rglob("*.yaml")), ids=lambda p: str(p.relative_to(DATA)))
def test_data_file_reads_as_safe_load(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)


def test_unsafe_tags_and_bad_syntax_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: [1, 2")
