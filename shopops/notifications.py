"""Notifications to the team's webhook (DingTalk/WeCom/Slack style), as Prefect automations.

Automations live on the Prefect server, so a run that *crashes* (its process killed, no
Python left to send anything) is reported too. Automations kept as code here:
- a flow run failed or crashed;
- ``shopops.orders.quarantine-spike``: a pull quarantined more than
  ``orders.quarantine_spike_share`` of a shop's orders (emitted by pull-orders);
- ``shopops.restock.critical``: a SKU will run out before a new order can arrive;
- ``shopops.orders.incomplete``: a pull's window held fewer orders than the platform counts.
The webhook receives generic JSON ``{"source": "shopops", "title": …, "text": …}`` or, with
``SHOPOPS_WEBHOOK_FORMAT`` dingtalk / wecom, a group robot's markdown message (``webhook_body``);
event payloads and messages carry counts and ids only, never buyer data.

The webhook URL carries the robot's token (DingTalk ``access_token=…``, WeCom ``key=…``): the
block keeps it only in its secret field (``secrets``, shown as ``********`` by the API and
the UI), its ``url`` is the placeholder ``{{webhook_url}}`` filled in when a message is sent;
an error sending a message never repeats the URL.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import requests

from connectors.base import redact

WEBHOOK_BLOCK = "shopops-webhook"
AUTOMATION_PREFIX = "shopops: "

EVENT_QUARANTINE_SPIKE = "shopops.orders.quarantine-spike"
EVENT_RESTOCK_CRITICAL = "shopops.restock.critical"
EVENT_WATCHDOG = "shopops.watchdog"
#: a pull found fewer orders in a window than the platform counts (issue 18: the watermark stays)
EVENT_INCOMPLETE_PULL = "shopops.orders.incomplete"

_RUN_FAILED_BODY = ("Flow {{ flow.name }}, run {{ flow_run.name }}: {{ flow_run.state.name }}.\n"
                    "{{ flow_run.state.message }}\nOpen the run in the Prefect UI for its report and logs.")
_EVENT_BODY = "{{ event.payload.message }}"


def configure_notifications(webhook_url: str, message_format: str = "generic") -> list[str]:
    """Create (or replace) the webhook block and the automations; return their names.

    Needs ``PREFECT_API_URL`` pointing at a real server (automations are a server feature).
    """
    from prefect.automations import Automation, EventTrigger, SendNotification
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(
        name="shopops", url="{{webhook_url}}", secrets={"webhook_url": webhook_url}, method="POST", timeout=10,
        json_data=webhook_body(message_format, "{{subject}}", "{{body}}"),
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
        Automation(
            name=AUTOMATION_PREFIX + "watchdog",
            description="Something went quiet that should not have: a shop not pulled, a batch past its cut-off, "
                        "pushes failing, an approval near its deadline, a run Running with no progress.",
            trigger=EventTrigger(expect={EVENT_WATCHDOG}, match={"prefect.resource.id": "shopops.watchdog.*"},
                                 posture="Reactive", threshold=1),
            actions=[notify("shopops: watchdog {{ event.resource.id }}", _EVENT_BODY)],
        ),
        Automation(
            name=AUTOMATION_PREFIX + "incomplete pull",
            description="A pull found fewer orders in a window than the platform counts; the watermark stays "
                        "before it.",
            trigger=EventTrigger(expect={EVENT_INCOMPLETE_PULL}, match={"prefect.resource.id": "shopops.shop.*"},
                                 posture="Reactive", threshold=1),
            actions=[notify("shopops: incomplete pull {{ event.resource.id }}", _EVENT_BODY)],
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


#: message bodies a team's webhook may expect
WEBHOOK_FORMATS = ("generic", "dingtalk", "wecom")


def webhook_body(message_format: str, title: str, text: str) -> dict:
    """The JSON body of one message: generic ``{"source", "title", "text"}``; DingTalk's group
    robot ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; WeCom's group robot
    ``{"msgtype": "markdown", "markdown": {"content"}}`` (it has no separate title)."""
    if message_format == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n{text}"}}
    if message_format == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n\n{text}"}}
    if message_format == "generic":
        return {"source": "shopops", "title": title, "text": text}
    raise ValueError(f"webhook format '{message_format}' is not one of {', '.join(WEBHOOK_FORMATS)}")


def webhook_secrets(url: str | None) -> dict[str, str]:
    """The parts of a webhook URL that are its credentials, named: the URL itself, each query
    value (DingTalk ``access_token``, WeCom ``key``, a signature) and a long path segment
    (Slack-style ``/services/T…/B…/token``). What logs and reports must never show, and what
    the leak scan looks for."""
    if not url:
        return {}
    parts = urlsplit(url)
    found = {"webhook url": url}
    for name, value in parse_qsl(parts.query):
        if len(value) >= 8:
            found[f"webhook {name}"] = value
    for segment in parts.path.split("/"):
        if len(segment) >= 16:
            found[f"webhook path {segment[:4]}…"] = segment
    return found


def post_webhook(url: str, message_format: str, title: str, text: str, timeout_s: float = 10) -> None:
    """Send one message; raises ``requests.RequestException`` when the webhook does not take it
    (a robot answers HTTP 200 with ``errcode`` ≠ 0 for a refused message). The exception's
    text never holds the URL's token (requests puts the URL into its messages)."""
    try:
        response = requests.post(url, json=webhook_body(message_format, title, text), timeout=timeout_s)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise requests.RequestException(redact(f"{type(exc).__name__}: {exc}",
                                               list(webhook_secrets(url).values()))) from None
    body = response.json() if response.content and "json" in response.headers.get("Content-Type", "") else {}
    if isinstance(body, dict) and body.get("errcode", 0) != 0:
        raise requests.RequestException(f"the webhook refused the message: errcode {body.get('errcode')} "
                                        f"{body.get('errmsg', '')}".strip())
