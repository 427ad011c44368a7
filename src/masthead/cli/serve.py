"""`masthead serve`: the API, the review desk, the live stream and (by default) the workers."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from typing import Any

import click
import uvicorn

from masthead.app.auth import ensure_token, read_token, token_path
from masthead.app.commands import check_tier_providers
from masthead.cli.common import CliState, echo, pass_state
from masthead.errors import ConfigError
from masthead.web.app import create_app

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def allowed_hosts(host: str) -> list[str] | None:
    """Host headers a loopback server answers: the loopback names and the address it serves on
    (e.g. 127.0.0.2). Beyond loopback, None: any name may point at a public server."""
    if not is_loopback(host):
        return None
    bare = host.strip("[]")
    served = [f"[{bare}]", bare] if ":" in bare else [bare]
    return list(dict.fromkeys([*LOOPBACK_NAMES, "[::1]", *served]))


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DeskServer(uvicorn.Server):
    """Ends the live streams as soon as Ctrl-C arrives, so shutdown does not wait on them."""

    def __init__(self, config: uvicorn.Config, on_exit: Any):
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback exposes the desk to the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="TCP port.")
@click.option("--no-workers", is_flag=True, help="Serve only; run tasks elsewhere (`masthead run`).")
@click.option("--no-poll", is_flag=True,
              help="Do not poll the project sources or fire the schedules here (another process does).")
@pass_state
def serve_cmd(state: CliState, host: str, port: int, no_workers: bool, no_poll: bool) -> None:
    """Serve the JSON API, the review desk and the live stream; run the workers too.

    Also polls the project sources on their `every` and fires the cron schedules (--no-poll: not here)."""
    ws = state.workspace()
    loopback = is_loopback(host)
    if read_token(ws.root) is None:
        if not loopback:
            raise ConfigError(f"refusing to listen on {host} without an operator token",
                              fix="create one with `masthead token`, then start again")
        ensure_token(ws.root)
        echo(f"created an operator token in {token_path(ws.root)}; print it with `masthead token`")
    if not loopback:
        echo(f"warning: listening on {host}: anyone who can reach port {port} can try the login page;"
             " put TLS in front of it (a reverse proxy) before leaving this network", err=True)
    if not no_workers:
        # Said up front; only the steps that need a provider it cannot build wait, with the reason.
        for warning in check_tier_providers(ws):
            echo(f"warning: {warning}", err=True)
    app = create_app(ws, with_workers=not no_workers, allowed_hosts=allowed_hosts(host), with_poller=not no_poll)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpx2", "openai"):  # one line per model call drowns the server's own log
        logging.getLogger(chatty).setLevel(logging.WARNING)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", access_log=False,
                            timeout_graceful_shutdown=5, lifespan="on")
    server = DeskServer(config, app.state.desk.broadcaster.close)
    shown = f"[{host}]" if ":" in host else host
    echo(f"serving {ws.root} on http://{shown}:{port}/ ({'no workers' if no_workers else 'with workers'}"
         f"{'' if no_poll else ', polling the sources'});"
         " log in with the token from `masthead token`; Ctrl-C stops")
    # uvicorn re-raises Ctrl-C after its graceful shutdown; here that is the normal way out.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    echo("stopped; queued work resumes with the next `masthead serve` or `masthead run`")
