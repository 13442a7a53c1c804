"""``python tests/helpers/leaky_flow.py SECRET``

One flow that does everything the pipeline must never do — logs a phone and the team
webhook's URL with its token, publishes an address and a buyer's name and e-mail in an
artifact, takes the secret as a parameter and fails with it — to prove the
leak scan sees each of those places (tests/integration/test_proof_leak_scan.py). Runs against
the Prefect API of ``PREFECT_API_URL``; its own log output (stderr) is what a worker's log
file holds. Prints one JSON line: the flow's final state.
"""
from __future__ import annotations

import json
import sys


#: a DingTalk robot's URL; its access_token is the secret part
WEBHOOK_TOKEN = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"
WEBHOOK_URL = f"https://oapi.dingtalk.com/robot/send?access_token={WEBHOOK_TOKEN}"
#: the buyer whose name and e-mail the artifact shows
BUYERS = ("Bob Norman", "bob.norman@example.com")


def planted_leaks(secret: str) -> dict[str, str]:
    from prefect import flow, get_run_logger
    from prefect.artifacts import create_markdown_artifact

    @flow(name="leaky-on-purpose")
    def leaky(token: str) -> None:
        get_run_logger().info("calling the buyer at 13812345678")
        get_run_logger().info(f"notifying {WEBHOOK_URL}")
        create_markdown_artifact(markdown="ship to 浙江省杭州市西湖区文三路100号 for Bob Norman <bob.norman@example.com>",
                                 key="leaky-report")
        raise RuntimeError(f"request failed with sign key {token}")

    return {"leaky-on-purpose": leaky(secret, return_state=True).type.value}


def main(argv: list[str]) -> int:
    print(json.dumps(planted_leaks(argv[0])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
