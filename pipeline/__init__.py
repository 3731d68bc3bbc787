"""textmine: a text-mining pipeline for stakeholder submissions to public consultations."""

__version__ = "0.1.0"
