"""rxshop's nginx deployment for the benchmarks: Debian's nginx running deploy/nginx.conf, on a free port.

Why: a first visit is measured as buyers get it (gzip_static, try_files, the cache headers, the CSP, the
limits, the websocket and /visitor.js proxied to the backend), not through an imitation of the site. The
site and the minimal main config are rendered by the very code the deployment test uses
(tests/fixtures/deployment.py: `render_site`, `nginx_main_conf`), so there is one nginx config, not two;
only its log files move to the benchmark's own folder. Everything nginx writes lives under a prefix in
test-artifacts/bench/, so it runs as any user.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from _support import LOGS, REPO, Processes, base_env

sys.path[:0] = [str(REPO)]
from tests.fixtures import deployment as _deployment  # noqa: E402  (needs the repository on sys.path)

NGINX = _deployment.NGINX


def start_nginx(
    procs: Processes, *, port: int, frontend_root: Path, backend_url: str, csp_conf: Path, name: str = "nginx"
) -> str:
    """Start nginx serving `frontend_root` and proxying to `backend_url` (as deployed); its URL once it
    answers /ping through the backend. `nginx -t` first: a config it refuses fails here, with its reason."""
    if not Path(NGINX).exists():
        raise RuntimeError(f"{NGINX} missing: `make system-deps` installs Debian's nginx")
    prefix = LOGS / name
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    site = prefix / "rxshop-site.conf"
    site.write_text(
        _deployment.render_site(
            server_name="127.0.0.1",
            listen=f"127.0.0.1:{port}",
            frontend_root=frontend_root,
            backend=backend_url.removeprefix("http://"),
            csp_conf=csp_conf,
        )
    )
    main_conf = prefix / "nginx.conf"
    # The deployment test's main config, with its error and access logs in this prefix instead of the test's.
    main_conf.write_text(
        _deployment.nginx_main_conf(prefix, site).replace(str(_deployment.LOGS), str(prefix))
    )
    argv = [NGINX, "-c", str(main_conf), "-p", str(prefix)]
    tested = subprocess.run([*argv, "-t"], capture_output=True, text=True)
    if tested.returncode != 0:
        raise RuntimeError(f"nginx -t refused the rendered deploy/nginx.conf:\n{tested.stderr}")
    proc = procs.start(name, [*argv, "-g", "daemon off;"], cwd=prefix, env=base_env())
    url = f"http://127.0.0.1:{port}"
    procs.wait_http(proc, f"{url}/ping", name)
    return url
