"""Under each notebook cell, the requests the SDKs sent to the stand-in and its answers.

Why a cell hook: the cloud cell stays exactly the code a student runs on Google
Cloud (no wrapper around the SDK call); IPython's ``pre_run_cell`` and
``post_run_cell`` events bracket the cell, and whatever the SDKs sent in between is
shown below it, also when the cell raised (a 400 answer is the lesson then).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ds500.localcloud import pricing
from ds500.localcloud.requestlog import Entry

if TYPE_CHECKING:  # pragma: no cover
    from ds500.localcloud.server import LocalCloud

__all__ = ["BANNER", "render", "watch"]

BANNER = "local stand-in: nothing was created or billed in Google Cloud"
_MAX_ENTRIES = 12
_watched: dict[int, Any] = {}


def render(entries: list[Entry]) -> str:
    """Markdown for a list of log entries: banner, requests and answers, list prices."""
    if not entries:
        return ""
    shown = entries[:_MAX_ENTRIES]
    body = "\n".join(e.as_text() for e in shown)
    if len(entries) > _MAX_ENTRIES:
        body += f"\n… {len(entries) - _MAX_ENTRIES} more requests"
    text = f"**{BANNER}** ({len(entries)} request{'s' if len(entries) != 1 else ''})\n\n```text\n{body}\n```"
    prices = pricing.describe([e.request for e in entries])
    if prices:
        text += "\n\n" + "\n".join(f"- {line}" for line in prices)
    return text


def watch(cloud: LocalCloud) -> bool:
    """Show each cell's requests under it, in this IPython kernel (once per stand-in).

    Returns:
        True when the hook is (now) registered; False outside IPython.
    """
    ipython_module = sys.modules.get("IPython")
    shell = ipython_module.get_ipython() if ipython_module else None
    if shell is None:
        return False
    if _watched.get(id(shell)) is cloud:
        return True
    previous = _watched.get(id(shell))
    if previous is not None:
        for event, callback in previous.callbacks:
            shell.events.unregister(event, callback)
    state = {"position": cloud.log.position()}

    def before(*_: Any) -> None:
        state["position"] = cloud.log.position()

    def after(*_: Any) -> None:
        entries = cloud.log.since(state["position"])
        state["position"] = cloud.log.position()
        if entries:
            from IPython.display import Markdown, display

            display(Markdown(render(entries)))

    shell.events.register("pre_run_cell", before)
    shell.events.register("post_run_cell", after)
    cloud.callbacks = [("pre_run_cell", before), ("post_run_cell", after)]
    _watched[id(shell)] = cloud
    return True
