from __future__ import annotations

import sys
from pathlib import Path

# the fakes live beside this file; importlib import mode does not add it to sys.path
sys.path.insert(0, str(Path(__file__).parent))
