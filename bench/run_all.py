"""Run every benchmark in bench/ in turn (`make bench`); each prints its own numbers and targets."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
failed = 0
for script in sorted(here.glob("[a-z]*.py")):
    if script.name in ("run_all.py", "webhook_server.py"):
        continue
    print(f"== {script.name}", flush=True)
    failed += subprocess.run([sys.executable, str(script)], cwd=here).returncode != 0
sys.exit(1 if failed else 0)
