"""Reading YAML data files: ``yaml.safe_load`` with libyaml's C parser when PyYAML has it.

The seed terms, gazetteers and cue lists are read by every stage process; the
pure-Python loader spends a quarter of a second on the theme files alone. The C loader
builds the same objects with the same safe constructors.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Parse ``text`` as ``yaml.safe_load`` would (errors are ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
