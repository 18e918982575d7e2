"""Transfers to and from vetted URLs: downloads for imports, JSON POSTs for notifications and webhooks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from urllib.parse import unquote

import anyio
import httpx

from ._vetting import (MAX_WAIT, Download, PostResult, UrlPolicy, _basic, _client, _origin, _PinnedBackend,
                       _shown, _Unresolvable, _vet)
from .errors import OutboundError, OutboundLimit


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n} bytes"


# --- download ------------------------------------------------------------------------------------


def _filename(response: httpx.Response) -> str | None:
    """A bare file name (no directory parts, for display and type sniffing), or None."""
    name = None
    if disposition := response.headers.get("content-disposition"):
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()  # handles filename*=UTF-8''... (RFC 2231/6266)
    if not name:
        name = unquote(response.url.path.rsplit("/", 1)[-1])
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name if name not in ("", ".", "..") else None


async def download(url: str, dest: Path, *, max_bytes: int, policy: UrlPolicy,
                   auth: tuple[str, str] | None = None) -> Download:
    """GET url into dest, at most max_bytes; every redirect hop is vetted like the first URL. `auth` (user,
    password) goes as basic auth to the URL's origin only (same scheme, host and port), never elsewhere."""
    backend = _PinnedBackend()
    origin = None
    created = False
    current: str | httpx.URL = url
    try:
        with anyio.fail_after(policy.total_timeout):
            async with _client(policy, backend) as client:
                for hop in range(policy.max_redirects + 1):
                    try:
                        parsed, addresses = await _vet(current, policy)
                    except OutboundError as exc:
                        if hop == 0:
                            raise
                        problem = str(exc).removeprefix("url: ")
                        raise OutboundError("url", f"{_shown(url)} redirects to a refused URL: {problem}") from None
                    backend.pin(parsed, addresses)
                    origin = origin or _origin(parsed)
                    # identity: a compressed body could expand far beyond what the size cap sees arriving.
                    headers = {"Accept-Encoding": "identity"}
                    if auth is not None and _origin(parsed) == origin:
                        headers["Authorization"] = _basic(auth)
                    async with client.stream("GET", parsed, headers=headers) as response:
                        if response.is_redirect:
                            current = response.url.join(response.headers["location"])
                            continue
                        if not response.is_success:
                            fix = ("check the user and password in the URL" if auth and response.status_code in
                                   (401, 403) else "check the URL")
                            raise OutboundError("url", f"{_shown(parsed)} answered HTTP {response.status_code}; {fix}")
                        _refuse_size(response.headers.get("content-length"), max_bytes)
                        created = True
                        received = await _receive(response, dest, max_bytes, policy)
                        return Download(
                            path=dest,
                            bytes=received,
                            content_type=response.headers.get("content-type"),
                            filename=_filename(response),
                        )
                hint = f"{_shown(url)} keeps redirecting; give the final URL of the file."
                raise OutboundLimit("redirects", policy.max_redirects, f"more than {policy.max_redirects}", hint=hint)
    except BaseException as exc:
        _discard(dest, created)
        shown = _shown(current)
        if isinstance(exc, _TooSlow):
            rate = f"{policy.min_rate / 1024:g} KB/s"
            raise OutboundError("url", f"{shown} sent less than {rate} for {_seconds(policy.rate_window)}; try a "
                                      "faster host, or upload the file") from None
        if isinstance(exc, TimeoutError):  # the total deadline (anyio.fail_after)
            limit = _seconds(policy.total_timeout)
            fix = "try a smaller file or a faster host"
            raise OutboundError("url", f"{shown} did not finish within {limit}; {fix}") from None
        if isinstance(exc, httpx.TimeoutException):
            raise OutboundError("url", f"{shown} did not answer within {_timeout_of(exc, policy)}; try again later") from None
        if isinstance(exc, httpx.HTTPError):
            why = str(exc) or type(exc).__name__
            raise OutboundError("url", f"{shown} could not be fetched ({why}); check the URL") from None
        raise


class _TooSlow(Exception):
    pass


async def _receive(response: httpx.Response, dest: Path, max_bytes: int, policy: UrlPolicy) -> int:
    """The body into dest; returns its size. A host that sends less than policy.min_rate bytes a second
    over any window of policy.rate_window seconds is dropped: a trickle (one byte every few seconds) never
    trips a per-read timeout, and would hold its job for the whole total timeout."""
    received = 0
    slow = False
    async with anyio.create_task_group() as tg:
        async def watch() -> None:
            nonlocal slow
            mark = 0
            while True:
                await anyio.sleep(policy.rate_window)
                if received - mark < policy.min_rate * policy.rate_window:
                    slow = True
                    tg.cancel_scope.cancel()
                    return
                mark = received

        tg.start_soon(watch)
        failed: Exception | None = None
        try:
            os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # owner-only, as every job file
            async with await anyio.open_file(dest, "wb") as file:
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:  # stop now, do not drain the rest
                        break
                    await file.write(chunk)
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside the group, as itself
            failed = exc
        tg.cancel_scope.cancel()
    if failed is not None:
        raise failed
    if slow:
        raise _TooSlow
    if received > max_bytes:
        raise _too_big(max_bytes, f"more than {_size(max_bytes)}")
    return received


def _too_big(max_bytes: int, received: str) -> OutboundLimit:
    return OutboundLimit("downloaded file size", _size(max_bytes), received, hint="use a smaller file or split it.")


def _refuse_size(content_length: str | None, max_bytes: int) -> None:
    if content_length and content_length.strip().isdigit() and int(content_length) > max_bytes:
        raise _too_big(max_bytes, _size(int(content_length)))


def _discard(dest: Path, created: bool) -> None:
    if created:  # a file that was there before a failed check is not ours to delete
        dest.unlink(missing_ok=True)


# --- JSON notifications --------------------------------------------------------------------------


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored), for 429 and 503 only."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    try:
        return min(max(float(value), 0.0), MAX_WAIT)
    except ValueError:
        return None


async def post_json(
    url: str,
    payload: dict,
    *,
    policy: UrlPolicy,
    attempts: int = 5,
    first_delay: float = 1.0,
    headers: dict[str, str] | None = None,
    sign: Callable[[bytes], dict[str, str]] | None = None,
) -> PostResult:
    """POST payload as JSON, retrying transient failures; never raises once the URL passed its first check.
    `sign` turns the exact body sent into extra headers (a signature of it)."""
    parsed, addresses = await _vet(url, policy)  # OutboundError here: the caller's URL is wrong
    body = json.dumps(payload, ensure_ascii=False).encode()
    request_headers = {"Content-Type": "application/json", **(headers or {}), **(sign(body) if sign else {})}
    backend = _PinnedBackend()
    status: int | None = None
    error: str | None = None
    delay = first_delay
    made = 0
    async with _client(policy, backend) as client:
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                try:  # DNS may have changed since the last attempt: vet again.
                    parsed, addresses = await _vet(url, policy)
                except _Unresolvable as exc:
                    made, status, error = attempt, None, str(exc)
                    await _pause(attempt, attempts, delay)
                    delay = min(delay * 2, MAX_WAIT)
                    continue
                except OutboundError as exc:  # now points somewhere refused: stop, do not insist
                    return PostResult(False, made, None, str(exc))
            made = attempt
            backend.pin(parsed, addresses)
            wait = delay
            try:
                with anyio.fail_after(policy.total_timeout):
                    # stream(): the answer's body is never read, so a huge one costs nothing.
                    async with client.stream("POST", parsed, content=body, headers=request_headers) as response:
                        status, error = response.status_code, None
                        if response.is_success:
                            return PostResult(True, attempt, status, None)
                        error = f"HTTP {status}"
                        if response.is_redirect:
                            error += " (redirects are not followed for notifications; give the final URL)"
                            return PostResult(False, attempt, status, error)
                        if status != 429 and status < 500:
                            return PostResult(False, attempt, status, error)  # the request itself is wrong
                        if (after := _retry_after(response)) is not None:
                            wait = after
            except TimeoutError:
                status, error = None, f"no complete answer within {_seconds(policy.total_timeout)}"
            except httpx.TimeoutException as exc:
                status, error = None, f"no answer within {_timeout_of(exc, policy)}"
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            await _pause(attempt, attempts, wait)
            delay = min(delay * 2, MAX_WAIT)
    return PostResult(False, made, status, error)


def _timeout_of(exc: httpx.TimeoutException, policy: UrlPolicy) -> str:
    """The limit that ran out, as text: connecting, or waiting for data."""
    return _seconds(policy.connect_timeout if isinstance(exc, httpx.ConnectTimeout) else policy.read_timeout)


async def _pause(attempt: int, attempts: int, seconds: float) -> None:
    if attempt < attempts:  # no point waiting after the last attempt
        await anyio.sleep(seconds)
