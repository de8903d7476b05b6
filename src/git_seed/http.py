"""HTTPS calls to a Git provider's API with urllib: a timeout on every request, a few retries
with small backoff on 429/5xx and dropped connections (Retry-After respected), a deadline that
stops well before the Lambda does, and no redirects (urllib would forward the Authorization
header to whatever host a redirect names)."""

from __future__ import annotations

import email.message
import http.client
import json
import logging
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import HttpError, SeedError, TransientError

LOG = logging.getLogger("git_seed")

REQUEST_TIMEOUT = 30.0  # seconds, one request
ATTEMPTS = 4  # one try and three retries
BACKOFF = (1.0, 2.0, 4.0)  # seconds before retry 1, 2, 3 when the provider gives no Retry-After
MAX_RETRY_AFTER = 30.0  # a longer Retry-After is not waited for: the run would not finish in time
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "mlops-sagemaker-templates-git-seed"  # GitHub rejects requests without one


class Deadline:
    """Time left for provider calls: the Lambda's remaining time minus a margin kept for
    sending the FAILED response (a Lambda that times out sends nothing and the stack waits)."""

    def __init__(self, seconds_left: Callable[[], float], margin: float = 30.0):
        self._seconds_left = seconds_left
        self.margin = margin

    @classmethod
    def of_context(cls, context: Any, *, budget: float = 840.0) -> Deadline:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            return cls(lambda: remaining() / 1000.0)
        start = time.monotonic()  # no Lambda context (a local run): a fixed budget
        return cls(lambda: budget - (time.monotonic() - start))

    def left(self) -> float:
        return self._seconds_left() - self.margin

    def timeout(self, wanted: float) -> float:
        left = self.left()
        if left < 1.0:
            raise SeedError("ran out of time before the Lambda timeout; stopped without sending more requests")
        return min(wanted, left)


@dataclass(frozen=True)
class Response:
    status: int
    headers: email.message.Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError for the 3xx, which we report


def default_opener(*, environment_proxies: bool = True) -> urllib.request.OpenerDirector:
    """urllib's opener without redirects; proxies from the environment unless told not to."""
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if not environment_proxies:
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def provider_message(body: bytes) -> str:
    """What the provider said, in one short line: GitHub and GitLab answer {"message": ...},
    Bitbucket {"error": {"message": ...}}; anything else is shown as text."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        found = data.get("message") or (error.get("message") if isinstance(error, dict) else error)
        if found:
            text = found if isinstance(found, str) else json.dumps(found, sort_keys=True)
    return " ".join(text.split())[:200] or "(no message)"


def _retry_after(headers: email.message.Message) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class HttpClient:
    """One provider API: a base URL and the headers every request carries (the auth header
    among them, which is never logged)."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        opener: urllib.request.OpenerDirector,
        deadline: Deadline,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self._headers = {"User-Agent": USER_AGENT, **headers}
        self._opener = opener
        self.deadline = deadline
        self._sleep = sleep

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
        retry: bool = True,
    ) -> Response:
        """The response when its status is in `ok`; otherwise HttpError (TransientError for a
        429/5xx/network failure once the retries are spent, or at once when retry=False)."""
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        attempt = 0
        while True:
            attempt += 1
            failure = self._attempt(method, path, body, content_type, query, ok)
            if isinstance(failure, Response):
                return failure
            if not isinstance(failure, TransientError) or not retry or attempt >= ATTEMPTS:
                raise failure
            self.pause(attempt, failure)

    def pause(self, attempt: int, failure: TransientError) -> None:
        """Wait before retry number `attempt`, or give up when the wait would not fit."""
        wait = failure.retry_after if failure.retry_after is not None else BACKOFF[min(attempt, len(BACKOFF)) - 1]
        if wait > MAX_RETRY_AFTER or wait >= self.deadline.left() - 1.0:
            raise failure
        LOG.info("retrying %s %s in %.1fs after: %s", failure.method, failure.path, wait, failure.message)
        self._sleep(wait)

    def _attempt(self, method, path, body, content_type, query, ok) -> Response | HttpError:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = dict(self._headers)
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.deadline.timeout(REQUEST_TIMEOUT)) as raw:
                response = Response(raw.status, raw.headers, raw.read())
        except urllib.error.HTTPError as err:
            response = Response(err.code, err.headers, err.read())
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            reason = getattr(err, "reason", err)
            message = f"{type(reason).__name__}: {reason}"
            if isinstance(reason, ssl.SSLCertVerificationError):
                return HttpError(None, method, path, f"the TLS certificate is not trusted ({message})")
            return TransientError(None, method, path, f"no answer ({message})")
        LOG.info("%s %s -> %s", method, path, response.status)
        if response.status in ok:
            return response
        return self._failure(method, path, response)

    @staticmethod
    def _failure(method: str, path: str, response: Response) -> HttpError:
        message = provider_message(response.body)
        retry_after = _retry_after(response.headers)
        if response.status in RETRYABLE_STATUS:
            return TransientError(response.status, method, path, message, retry_after)
        # GitHub's secondary rate limits answer 403 with a Retry-After; plain 403s have none.
        if response.status == 403 and retry_after is not None:
            return TransientError(response.status, method, path, message, retry_after)
        if 300 <= response.status < 400:
            message = f"redirected to {response.headers.get('Location', '?')}, which is not followed"
        return HttpError(response.status, method, path, message)
