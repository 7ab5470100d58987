"""Where the tests find the project's own files and the shared conformance corpus."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = sorted(p.parent for p in (ROOT / "examples" / "models").glob("*/mlk.yaml"))
