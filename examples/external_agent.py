"""An external agent for agentdeck, in plain HTTP: claim a task, work on it, report back.

Register the agent once (an admin call; the token is shown this once):

    curl -s -X POST http://127.0.0.1:8000/api/external-agents \\
         -H 'content-type: application/json' \\
         -d '{"name": "larry", "capabilities": ["executor"]}'

then run it with the id and token from the answer:

    python examples/external_agent.py --url http://127.0.0.1:8000 --agent xa_... --token adx_...

It long-polls for a task whose role is one of its capabilities, heartbeats while it
works (so its lease does not expire), and reports the task completed, or failed. Only
httpx is needed. Replace `work_on` with what your agent really does.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import Any

import httpx


def work_on(task: dict[str, Any], inputs: dict[str, Any]) -> str:
    """The work itself: here, a short markdown note built from the task and its inputs."""
    done_before = [p["id"] for p in inputs.get("prerequisites", [])]
    lines = [f"# {task['title']}", "", task.get("description") or "(no description)", ""]
    if done_before:
        lines.append(f"Built on: {', '.join(done_before)}.")
    if inputs.get("note"):
        lines.append(f"A person asked: {inputs['note']}")
    time.sleep(0.1)  # pretend to work
    return "\n".join(lines)


def heartbeat(
    http: httpx.Client, url: str, lease_id: str, every: float, stop: threading.Event
) -> None:
    """Keep the lease alive until `stop` is set."""
    while not stop.wait(every):
        response = http.post(url, json={"type": "heartbeat", "lease_id": lease_id})
        if response.status_code == 409:  # the lease is gone: someone else has the task now
            return


def handle(http: httpx.Client, claim: dict[str, Any]) -> None:
    task, lease = claim["task"], claim["lease"]
    url = claim["report_url"]
    report = {"lease_id": lease["id"]}
    print(f"working on {task['id']}: {task['title']}", flush=True)
    http.post(url, json={**report, "type": "progress", "progress": 0.1, "message": "started"})
    stop = threading.Event()
    beat = threading.Thread(
        target=heartbeat, args=(http, url, lease["id"], lease["interval_s"] / 3, stop), daemon=True
    )
    beat.start()
    try:
        output = work_on(task, claim.get("inputs") or {})
        body = {**report, "type": "completed", "output": output}
    except Exception as error:  # tell agentdeck; it retries the task if it may
        body = {**report, "type": "failed", "error": f"{type(error).__name__}: {error}"}
    finally:
        stop.set()
        beat.join()
    response = http.post(url, json=body)
    if response.status_code == 409:
        print(f"  refused: {response.json()['error']['message']}", flush=True)
    else:
        response.raise_for_status()
        print(f"  {body['type']}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("AGENTDECK_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--agent", default=os.environ.get("AGENTDECK_AGENT_ID"), required=False)
    parser.add_argument("--token", default=os.environ.get("AGENTDECK_AGENT_TOKEN"))
    parser.add_argument("--wait", type=float, default=30, help="seconds per long poll (max 60)")
    parser.add_argument(
        "--max-idle-polls", type=int, default=0, help="stop after this many empty polls (0: never)"
    )
    args = parser.parse_args()
    if not args.agent or not args.token:
        parser.error("give --agent and --token (or AGENTDECK_AGENT_ID and AGENTDECK_AGENT_TOKEN)")
    headers = {"Authorization": f"Bearer {args.token}"}
    idle = 0
    with httpx.Client(base_url=args.url, headers=headers, timeout=args.wait + 15) as http:
        while True:
            try:
                response = http.get(f"/api/agents/{args.agent}/work", params={"wait": args.wait})
            except httpx.TransportError as error:  # the server restarts: try again soon
                print(f"cannot reach {args.url}: {error}", file=sys.stderr, flush=True)
                time.sleep(2)
                continue
            if response.status_code == 204:
                idle += 1
                if args.max_idle_polls and idle >= args.max_idle_polls:
                    return 0
                continue
            if response.status_code in (401, 403):
                print(response.json()["error"]["message"], file=sys.stderr)
                return 1
            response.raise_for_status()
            idle = 0
            handle(http, response.json())


if __name__ == "__main__":
    sys.exit(main())
