"""Notifications to the team's webhook (DingTalk/WeCom/Slack style), as Prefect automations.

Automations live on the Prefect server, so a run that *crashes* (its process killed, no
Python left to send anything) is reported too. Three of them, kept as code here:
- a flow run failed or crashed;
- ``shopops.orders.quarantine-spike``: a pull quarantined more than
  ``orders.quarantine_spike_share`` of a shop's orders (emitted by pull-orders);
- ``shopops.restock.critical``: a SKU will run out before a new order can arrive.
The webhook receives generic JSON ``{"source": "shopops", "title": …, "text": …}``; event
payloads carry counts and ids only, never buyer data.
"""
from __future__ import annotations

WEBHOOK_BLOCK = "shopops-webhook"
AUTOMATION_PREFIX = "shopops: "

EVENT_QUARANTINE_SPIKE = "shopops.orders.quarantine-spike"
EVENT_RESTOCK_CRITICAL = "shopops.restock.critical"

_RUN_FAILED_BODY = ("Flow {{ flow.name }}, run {{ flow_run.name }}: {{ flow_run.state.name }}.\n"
                    "{{ flow_run.state.message }}\nOpen the run in the Prefect UI for its report and logs.")
_EVENT_BODY = "{{ event.payload.message }}"


def configure_notifications(webhook_url: str) -> list[str]:
    """Create (or replace) the webhook block and the automations; return their names.

    Needs ``PREFECT_API_URL`` pointing at a real server (automations are a server feature).
    """
    from prefect.automations import Automation, EventTrigger, SendNotification
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(
        name="shopops", url=webhook_url, method="POST", timeout=10,
        json_data={"source": "shopops", "title": "{{subject}}", "text": "{{body}}"},
        allow_private_urls=True,  # the team's receiver is often on the internal network
    )
    block_id = block.save(WEBHOOK_BLOCK, overwrite=True)

    def notify(subject: str, body: str) -> SendNotification:
        return SendNotification(block_document_id=block_id, subject=subject, body=body)

    wanted = [
        Automation(
            name=AUTOMATION_PREFIX + "run failed or crashed",
            description="A shopops flow run ended Failed or Crashed.",
            trigger=EventTrigger(expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
                                 match={"prefect.resource.id": "prefect.flow-run.*"},
                                 posture="Reactive", threshold=1),
            actions=[notify("shopops: {{ flow.name }} {{ flow_run.state.name }}", _RUN_FAILED_BODY)],
        ),
        Automation(
            name=AUTOMATION_PREFIX + "quarantine spike",
            description="A pull quarantined an unusual share of a shop's orders.",
            trigger=EventTrigger(expect={EVENT_QUARANTINE_SPIKE}, match={"prefect.resource.id": "shopops.shop.*"},
                                 posture="Reactive", threshold=1),
            actions=[notify("shopops: quarantine spike {{ event.resource.id }}", _EVENT_BODY)],
        ),
        Automation(
            name=AUTOMATION_PREFIX + "critical restock",
            description="A SKU will run out before a new purchase order can arrive.",
            trigger=EventTrigger(expect={EVENT_RESTOCK_CRITICAL}, match={"prefect.resource.id": "shopops.sku.*"},
                                 posture="Reactive", threshold=1),
            actions=[notify("shopops: critical restock {{ event.resource.id }}", _EVENT_BODY)],
        ),
    ]
    for automation in wanted:
        try:
            Automation.read(name=automation.name).delete()
        except ValueError:
            pass  # not there yet
        automation.create()
    return [a.name for a in wanted]


def emit(event: str, resource_id: str, message: str, **payload: object) -> None:
    """Emit a shopops event (best effort: a notification must never fail the run)."""
    from prefect.events import emit_event

    emit_event(event=event, resource={"prefect.resource.id": resource_id},
               payload={"message": message, **payload})
