"""The sample city: a deterministic generator of every department's daily deliveries, with defects.

    manifest = generate_city(inbox, date(2026, 10, 1), date(2026, 10, 31), subjects=2000)
    manifest.save("manifest.json")

Files land where ``inbox.inbox_path`` says, in the format, encoding and date format of the feed
registry; the manifest lists every file and every injected defect (see ``manifest.py``).
"""

from credit_warehouse.sample_city.api import generate_city
from credit_warehouse.sample_city.manifest import (
           Correction,
           GeneratedFile,
           GenerationManifest,
           InjectedDefect,
)
from credit_warehouse.sample_city.rates import ALL_KINDS, DefectRates

__all__ = ["ALL_KINDS", "Correction", "DefectRates", "GeneratedFile", "GenerationManifest", "InjectedDefect",
           "generate_city"]
