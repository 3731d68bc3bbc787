"""The ``textmine`` command's entry point: :mod:`pipeline.cli`, imported for a short-lived process.

Every stage is a fresh process, and on an incremental run starting is a good part of a
stage's time: importing pandas, numpy and pyarrow (about 0.4 s) builds some hundred
thousand objects, none of them garbage, and the cyclic garbage collector walks them
again and again while they are made. Importing with the collector paused, then freezing
what the import built (``gc.freeze``: later full passes skip it), saves 0.03-0.1 s a
stage. Kept out of :mod:`pipeline.cli` itself, whose import is what it speeds up.
"""

from __future__ import annotations

import gc
from types import ModuleType
from typing import NoReturn


def import_cli() -> ModuleType:
    """:mod:`pipeline.cli`, imported with the garbage collector paused, then frozen."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        from pipeline import cli
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return cli


def entry() -> NoReturn:
    """The ``textmine`` command: :func:`pipeline.cli.entry`."""
    import_cli()
    from pipeline.cli import entry as run  # imported by now

    run()
