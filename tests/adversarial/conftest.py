"""The standing adversarial suite: each listener attacked on loopback.

Every module here attacks one listener the way a hostile client would (early
EOF, partial headers, binary, over-long lines and bodies, slow drip, idle
floods beyond the caps, forged and replayed signatures, YAML bombs), then
checks what a user would notice: the next good request is answered, and the
worker's memory stays within a bound. Counts and sizes are small enough for
the whole suite to run in well under a minute on two cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
