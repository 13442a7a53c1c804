"""``python -m sandbox --scenario smoke --port 8765 [--data-dir data/sandbox]``: the demo's marketplace.

Prints the URL and the path of the credentials file; the credentials themselves go only to
that file (mode 0600), never to the terminal or a log; ``buyers.txt`` beside it (0600) holds the
buyers' clear names and nicks, the ground truth ``shopops leak-scan`` looks for.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from sandbox.generator import generate
from sandbox.scenario import ScenarioError, load_scenario
from sandbox.server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Serve the sandbox marketplace.")
    parser.add_argument("--scenario", default="normal_day", help="scenario name in config/scenarios/ or a YAML path")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data-dir", default="data/sandbox", help="where credentials.json and buyers.txt are written")
    args = parser.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    started = time.perf_counter()
    world = generate(scenario)
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    credentials_path = data_dir / "credentials.json"
    descriptor = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(world.credentials_json(), handle, indent=2)
    # the buyers' clear names and nicks, for `shopops leak-scan` (its default --buyers-file)
    descriptor = os.open(data_dir / "buyers.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("# sandbox ground truth: clear buyer names and nicks (shopops leak-scan)\n")
        handle.writelines(f"{value}\n" for value in world.clear_buyer_values())
    server = SandboxServer(world, host=args.host, port=args.port)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        print(f"could not serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"sandbox marketplace: {server.url} (scenario {scenario.name}, {world.order_count()} orders, "
          f"generated in {time.perf_counter() - started:.1f}s)")
    print(f"credentials: {credentials_path.resolve()}")
    print("Ctrl-C stops it.", flush=True)
    # explicitly: started in the background by a non-interactive shell, the process inherits
    # SIGINT ignored, and Ctrl-C / a supervisor's SIGINT would not stop it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
