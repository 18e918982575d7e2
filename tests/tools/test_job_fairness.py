"""Background imports are fair and cancellable: a stalled download holds neither other accounts' jobs
nor the runner, shows as running, stops at once when cancelled, and is dropped when it trickles."""

from __future__ import annotations

import time

import anyio

from ..conftest import call


async def _job(client, job_id: str) -> dict:
    return (await call(client, "get_jobs", {"job_id": job_id}))["jobs"][0]


async def _until(client, job_id: str, done, seconds: float = 10) -> dict:
    with anyio.fail_after(seconds):
        while not done(job := await _job(client, job_id)):
            await anyio.sleep(0.05)
    return job


async def test_a_stalled_download_is_running_and_cancelling_it_frees_the_runner_at_once(client_with, trickle):
    async with client_with(allow_private_urls=True, jobs_at_once=1) as client:
        stalled = (await call(client, "import_file", {"url": trickle}))["id"]
        await _until(client, stalled, lambda j: j["status"] == "running")  # downloading is running
        waiting = (await call(client, "import_file", {"csv_text": "email\nw@example.com\n"}))["id"]
        await anyio.sleep(0.5)
        assert (await _job(client, waiting))["status"] == "queued"  # the only slot is taken
        started = time.monotonic()
        cancelled = (await call(client, "cancel_job", {"job_id": stalled}))["jobs"][0]
        assert cancelled["status"] == "cancelled"
        done = await _until(client, waiting, lambda j: j["status"] == "completed", seconds=5)
        assert done["created"] == 1 and time.monotonic() - started < 5


async def test_one_accounts_stalled_jobs_do_not_hold_up_another_accounts_import(state, trickle):
    # The attack: a tenant's imports from a URL that trickles used to hold the single runner for 120 s each,
    # while another tenant's one-line import waited behind them.
    from dataclasses import replace

    from contacts_mcp.core import accounts
    from contacts_mcp.core import jobs as all_jobs
    from contacts_mcp.core.imports import jobs
    from contacts_mcp.core.imports.sources import Source

    other = (await accounts.create_account(state.store, "other"))["id"]
    state.settings = replace(state.settings, allow_private_urls=True, jobs_at_once=3, jobs_per_account=2)

    async def queue(scope, source: Source) -> str:
        job = await jobs.create_import(scope, source, jobs.ImportOptions(), new_list_name=None,
                                       new_list_folder_id=None, notify_url=None, client_roots=[])
        return job.id

    hog = state.scope()
    stalled = [await queue(hog, Source(url=trickle)) for _ in range(4)]
    started = time.monotonic()
    theirs = await queue(state.scope(other), Source(csv_text="email\nt@example.com\n"))
    with anyio.fail_after(10):
        while (job := await all_jobs.get_job(state.scope(other), theirs)).status != "completed":
            await anyio.sleep(0.05)
    assert job.created == 1 and time.monotonic() - started < 10
    statuses = [(await all_jobs.get_job(hog, j)).status for j in stalled]
    assert statuses.count("running") == 2 and statuses.count("queued") == 2  # the hog's own limit
    for j in stalled:
        await all_jobs.cancel_job(hog, j)


async def test_a_download_that_trickles_below_the_minimum_rate_fails_with_the_reason(client_with, trickle):
    async with client_with(allow_private_urls=True, download_min_rate=100, download_rate_window=1.0) as client:
        job_id = (await call(client, "import_file", {"url": trickle}))["id"]
        job = await _until(client, job_id, lambda j: j["status"] == "failed", seconds=10)
        assert "sent less than" in job["error"] and "KB/s" in job["error"]
