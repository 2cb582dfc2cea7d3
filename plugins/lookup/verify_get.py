# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""GET a URL from the controller, as ``curl`` in the walkthrough, without starting a module.

The verify role curls every node's NodePort from the controller. The uri module, delegated to
localhost, starts a Python process per node for one GET (0.8 s on a quiet 2-core machine,
more than a node's SSH round trip); this lookup runs in the worker that templates the task.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_get
short_description: GET a URL from the controller, again while its page lacks a text
description:
  - GETs each URL (through the proxy the environment names, as the uri module does) and
    returns per URL C(status) (-1 when no HTTP answer came), C(content), C(msg) in the words
    of the uri module (so the verify role's details stay the same) and C(attempts).
  - Tries again after I(delay) seconds, up to I(tries) times, while the answer is not HTTP 200
    with I(text) on the page.
options:
  _terms: {description: URLs to GET., required: true}
  text: {description: Text the page must contain., type: str, default: ""}
  timeout: {description: Seconds for one GET., type: float, default: 5}
  tries: {description: GETs at most., type: int, default: 5}
  delay: {description: Seconds between two GETs., type: float, default: 2}
"""

import time
import urllib.error

from ansible.module_utils.urls import open_url
from ansible.plugins.lookup import LookupBase


def get(url: str, timeout: float) -> dict:
    """One GET: status, content and a msg like the uri module's."""
    try:
        with open_url(url, timeout=timeout) as answer:
            return {"status": answer.status, "content": answer.read().decode("utf-8", "replace"),
                    "msg": f"OK ({answer.headers.get('Content-Length', 'unknown')} bytes)"}
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace") if exc.fp else ""
        return {"status": exc.code, "content": body, "msg": f"Status code was {exc.code} and not [200]: {exc}"}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return {"status": -1, "content": "", "msg": f"Status code was -1 and not [200]: Request failed: {exc}"}


def get_until(url: str, text: str, timeout: float, tries: int, delay: float,
              sleep=time.sleep, fetch=get) -> dict:
    """GET until HTTP 200 with ``text`` on the page, at most ``tries`` times."""
    for attempt in range(1, max(1, tries) + 1):
        answer = fetch(url, timeout)
        answer["attempts"] = attempt
        if answer["status"] == 200 and text in answer["content"]:
            break
        if attempt < tries:
            sleep(delay)
    return answer


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [get_until(str(url), self.get_option("text"), float(self.get_option("timeout")),
                          int(self.get_option("tries")), float(self.get_option("delay")))
                for url in terms]
