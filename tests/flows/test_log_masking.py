"""Log lines stored on the Prefect server (what the UI shows) carry no secret and no phone."""
from __future__ import annotations

import asyncio

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from shopops.logmask import install_log_masking, register_secret


@flow(name="log-masking-probe")
def noisy_flow() -> None:
    install_log_masking()
    get_run_logger().warning("signing with app secret %s for buyer %s, order %s",
                             "probe-app-secret-123456", "13812345678", "2000000000000053477")


async def _logs(flow_run_id):
    async with get_client() as client:
        return await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))


def test_server_side_logs_are_masked(prefect_harness):
    register_secret("probe-app-secret-123456")
    state = noisy_flow(return_state=True)
    logs = []
    for _ in range(20):  # the API log handler ships logs in the background
        logs = asyncio.run(_logs(state.state_details.flow_run_id))
        if any("signing with" in log.message for log in logs):
            break
        asyncio.run(asyncio.sleep(0.5))
    text = "\n".join(log.message for log in logs)
    assert "signing with app secret *** for buyer 138****5678, order 2000000000000053477" in text
    assert "probe-app-secret-123456" not in text and "13812345678" not in text
