"""The proof documents `cockpit report --kind` writes, by name, with their file names.

The command line lists them in its help and checks `--kind` against them on every start, so they
live here, apart from `report.KINDS` (which brings numpy and scipy: a few hundred ms before the
cockpit's first frame, issue 14 item 3). tests/analytics checks that the two agree.
"""

from __future__ import annotations

from typing import Final

KIND_FILES: Final[dict[str, str]] = {
    "baseline": "PERFORMANCE_BASELINE.md",
    "attribution": "TRADE_ATTRIBUTION_REPORT.md",
    "confidence": "CONFIDENCE_FILTER_ANALYSIS.md",
    "regime": "REGIME_FILTER_ANALYSIS.md",
    "exit": "EXIT_OPTIMIZATION_ANALYSIS.md",
    "portfolio": "PORTFOLIO_CORRELATION_ANALYSIS.md",
    "ab": "AB_TEST_FRAMEWORK_GUIDE.md",
    "fidelity": "SHADOW_VS_LIVE_CALIBRATION.md",
    "final": "P2_PERFORMANCE_OPTIMIZATION_REPORT.md",
}
