"""The FreeSWITCH worker's Event Socket listener in a gevent process of its own, as serve-esl runs it.

    python esl_worker.py MAX_CALLS MEDIA_LOW    # prints "port N", then serves until killed

Calls routed `callticket-echo` get the echo runner (no Playbook, no speech);
any other route goes back to the dialplan with NOROUTE.
"""

from __future__ import annotations

import logging
import sys

import gevent

from agi import logs
from agi.pbx.freeswitch.worker import ECHO_ROUTE, EslWorker, EslWorkerConfig, echo_runner


def main() -> None:
    max_calls, low = int(sys.argv[1]), int(sys.argv[2])
    logs.setup(None, stream=sys.stderr)
    logging.getLogger().setLevel(logging.INFO)
    worker = EslWorker(EslWorkerConfig(port=0, media_ports=(low, low + 99), max_calls=max_calls),
                       lambda info: echo_runner if info.route == ECHO_ROUTE else None)
    worker.start()
    print(f"port {worker.address[1]}", flush=True)
    gevent.wait()  # the server's greenlets run until the process is killed


if __name__ == "__main__":
    main()
