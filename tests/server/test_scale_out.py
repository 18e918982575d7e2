"""Scale-out: three HTTP server processes on one PostgreSQL database and one shared files folder, used at
the same time through all of them (imports into one list, creates and opt-outs of the same addresses), one of
them SIGKILLed in the middle of a big import that another then finishes from its checkpoint. Afterwards the
database is exactly what one process would have made of the same work: each email once, every job completed
once with its counts adding up, the maintained statistics equal to a recount, opt-outs kept."""

import signal
from collections import Counter
from pathlib import Path

import anyio
import psycopg

from contacts_mcp.storage.sqlite.stats import PROFILE_SQL

from ..conftest import call
from .test_http import cli, connect, new_token, start_server

SMALL_FILES = 6
SMALL_ROWS = 1_500      # file k holds p{600k} .. p{600k + 1499}: each overlaps the next by 900 emails
BIG_ROWS = 300_000      # big{i}: its own emails, so its counts are known exactly; long enough to be killed mid-way
RACE = [f"p{i}@example.com" for i in range(0, 600 * SMALL_FILES + 900, 150)] + [f"solo{j}@example.com"
                                                                                 for j in range(20)]
OPTED = [f"p{i}@example.com" for i in range(7, 600 * SMALL_FILES + 900, 90)] + [f"solo{j}@example.com"
                                                                                for j in range(0, 20, 4)]


def small_csv(path: Path, k: int) -> set[str]:
    """Returns the valid emails it holds. Every 97th line is invalid, every 101st repeats an earlier one."""
    emails = set()
    with path.open("w") as out:
        out.write("email,first_name,mobile\n")
        for n, i in enumerate(range(600 * k, 600 * k + SMALL_ROWS)):
            if n % 97 == 96:
                out.write(f"broken-{k}-{i},Bad,\n")
            elif n % 101 == 100:
                out.write(f"p{i - 40}@example.com,Again,\n")  # new here if line i - 40 was an invalid one
                emails.add(f"p{i - 40}@example.com")
            else:
                # The same name in every file for one email in three (unchanged there), else one per file.
                name = f"N{i}" if i % 3 == 0 else f"F{k}-{i}"
                mobile = f"+3361{i:07d}" if i % 5 == 0 else ""
                out.write(f"p{i}@example.com,{name},{mobile}\n")
                emails.add(f"p{i}@example.com")
    return emails


def big_csv(path: Path) -> tuple[set[str], int, int]:
    """Returns its valid emails, and how many lines are invalid and repeats."""
    emails, invalid, repeats = set(), 0, 0
    with path.open("w") as out:
        out.write("email,first_name,mobile\n")
        for i in range(BIG_ROWS):
            if i % 97 == 0:
                out.write(f"broken-{i},Bad,\n")
                invalid += 1
            elif i % 101 == 0:
                out.write(f"big{i - 50}@example.com,Again,\n")
                repeats += f"big{i - 50}@example.com" in emails  # else new: line i - 50 was an invalid one
                emails.add(f"big{i - 50}@example.com")
            else:
                out.write(f"big{i}@example.com,B{i},+3362{i:07d}\n")
                emails.add(f"big{i}@example.com")
    return emails, invalid, repeats


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def claim_holder(url: str, job_id: str) -> int | None:
    """The backend pid holding the runner's claim on the job (store.py: CLAIM_LOCK, hashtext of its name)."""
    rows = sql(url, "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
                    "AND l.classid = x'636C6169'::int::oid AND l.objid = hashtext(%s)::oid AND l.objsubid = 2",
               (f"import job {job_id}",))
    return rows[0][0] if rows else None


def backend_alive(url: str, pid: int) -> bool:
    return bool(sql(url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)))


async def wait_job(client, job_id: str) -> dict:
    with anyio.fail_after(50):
        while True:
            job = (await call(client, "get_jobs", {"job_id": job_id, "wait_seconds": 20}))["jobs"][0]
            if job["status"] not in ("queued", "running"):
                return job


def recount_groups(url: str) -> Counter:
    """(kind, group id, profile) -> contacts, counted from the rows (deleted contacts count nowhere)."""
    found: Counter = Counter()
    alive = "c.deleted_at IS NULL"
    for kind, query in (
            ("base", f"SELECT 0, {PROFILE_SQL}, COUNT(*) FROM contacts c WHERE {alive} GROUP BY 1, 2"),
            ("list", f"SELECT m.list_id, {PROFILE_SQL}, COUNT(*) FROM contacts c JOIN list_members m "
                     f"ON m.contact_id = c.id WHERE {alive} GROUP BY 1, 2"),
            ("segment", f"SELECT m.segment_id, {PROFILE_SQL}, COUNT(*) FROM contacts c JOIN segment_members m "
                        f"ON m.contact_id = c.id WHERE {alive} GROUP BY 1, 2")):
        for gid, profile, n in sql(url, query):
            found[(kind, gid, profile)] = n
    return found


def list_recount(url: str, list_id: int) -> dict:
    """The list's figures get_stats reports, counted in SQL from its members' rows."""
    (row,) = sql(url, """
        SELECT COUNT(*),
               COUNT(*) FILTER (WHERE c.email_key IS NOT NULL AND c.optout_mask & 1 = 0 AND c.status <> 'unconfirmed'),
               COUNT(*) FILTER (WHERE c.mobile IS NOT NULL AND c.optout_mask & 2 = 0),
               COUNT(*) FILTER (WHERE (c.mobile IS NOT NULL OR c.fixed_phone IS NOT NULL) AND c.optout_mask & 4 = 0),
               COUNT(*) FILTER (WHERE (c.mobile IS NOT NULL OR c.fixed_phone IS NOT NULL) AND c.optout_mask & 8 = 0),
               COUNT(*) FILTER (WHERE c.optout_mask & 1 <> 0), COUNT(*) FILTER (WHERE c.optout_mask & 2 <> 0),
               COUNT(*) FILTER (WHERE c.optout_mask <> 0)
        FROM list_members m JOIN contacts c ON c.id = m.contact_id WHERE m.list_id = %s AND c.deleted_at IS NULL""",
                 (list_id,))
    return {"subscribers": row[0], "reachable": dict(zip(("email", "sms", "voice", "voicemail"), row[1:5])),
            "opted_out_email": row[5], "opted_out_sms": row[6], "blacklisted": row[7]}


async def test_three_processes_on_one_database_import_create_and_opt_out_concurrently_and_survive_a_kill(
        tmp_path, pg_url, http_files):
    hook, received, _ = http_files
    roots, files = tmp_path / "roots", tmp_path / "files"
    roots.mkdir()
    small_emails: set[str] = set()
    for k in range(SMALL_FILES):
        small_emails |= small_csv(roots / f"part{k}.csv", k)
    big_emails, big_invalid, big_repeats = big_csv(roots / "big.csv")
    cli(pg_url, "account", "list")  # creates the schema
    token = new_token(pg_url)
    env = {"CONTACTS_MCP_IMPORT_ROOTS": str(roots), "CONTACTS_MCP_FILES_DIR": str(files),
           "CONTACTS_MCP_ALLOW_PRIVATE_URLS": "1"}

    def server(name: str) -> tuple[int, object]:
        return start_server(pg_url, "--rate-limit", "0", env=env, log=tmp_path / f"{name}.log")

    procs = []
    try:
        # C starts alone and queues the big import, so that C is the process that claims and runs it.
        port_c, proc_c = server("c")
        procs.append(proc_c)
        async with connect(port_c, token) as c:
            list_id = (await call(c, "manage_lists", {"action": "create", "name": "scale"}))["list"]["id"]
            big = await call(c, "import_file", {"path": str(roots / "big.csv"), "list_ids": [list_id],
                                                "notify_url": f"{hook}/hook"})
            with anyio.fail_after(10):
                while (await call(c, "get_jobs", {"job_id": big["id"]}))["jobs"][0]["status"] != "running":
                    await anyio.sleep(0.05)
        started: dict = {}

        def start(name: str) -> None:
            started[name] = server(name)
            procs.append(started[name][1])

        async with anyio.create_task_group() as tg:  # A and B start side by side
            for name in ("a", "b"):
                tg.start_soon(anyio.to_thread.run_sync, start, name)
        (port_a, proc_a), (port_b, proc_b) = started["a"], started["b"]
        clients = {"a": connect(port_a, token), "b": connect(port_b, token), "c": connect(port_c, token)}
        jobs: list[str] = [big["id"]]
        created: Counter = Counter()  # email -> 'created' outcomes over every process
        killed_at: dict = {}

        async with clients["a"] as a, clients["b"] as b, clients["c"] as c:
            by_name = {"a": a, "b": b, "c": c}
            survivors = [a, b]
            creates_done, c_queued = anyio.Event(), anyio.Event()

            async def import_small(client, k: int) -> None:
                job = await call(client, "import_file", {"path": str(roots / f"part{k}.csv"), "list_ids": [list_id],
                                                         "notify_url": f"{hook}/hook"})
                jobs.append(job["id"])
                if client is c:
                    c_queued.set()

            async def create(client, email: str) -> None:
                result = await call(client, "create_contact", {"contact": {"email": email.upper() if "solo" in email
                                                                          else email, "list_ids": [list_id]}})
                created[email] += result["outcome"] == "created"

            async def creates() -> None:
                async with anyio.create_task_group() as race:
                    for email in RACE:
                        for client in by_name.values():  # the same email through every process at once
                            race.start_soon(create, client, email)
                creates_done.set()

            async def optouts(client, emails: list[str], reason: str) -> None:
                for n in range(0, len(emails), 5):
                    await call(client, "optout_contact", {"emails": emails[n:n + 5], "reason": reason})
                    await anyio.sleep(0.02)

            async def kill_c_mid_import() -> None:
                with anyio.fail_after(40):
                    while True:
                        job = (await call(c, "get_jobs", {"job_id": big["id"]}))["jobs"][0]
                        assert job["status"] == "running", f"the big import ended before the kill: {job}"
                        # C's own calls answered first: killed in flight, whether they took effect is unknown.
                        if job["lines_read"] > 0 and creates_done.is_set() and c_queued.is_set():
                            break
                        await anyio.sleep(0.05)
                holder = claim_holder(pg_url, big["id"])
                proc_c.send_signal(signal.SIGKILL)
                proc_c.wait(10)
                killed_at.update(job=job, holder=holder)

            async with anyio.create_task_group() as tg:
                tg.start_soon(kill_c_mid_import)
                tg.start_soon(creates)
                for k in range(SMALL_FILES):  # queued through every process, run by whichever claims them
                    tg.start_soon(import_small, [a, b, c][k % 3], k)
                tg.start_soon(optouts, a, OPTED[0::2], "unsubscribed")   # every channel
                tg.start_soon(optouts, b, OPTED[1::2], "hardbounce")     # email only

            seen = killed_at["job"]
            assert 0 < seen["lines_read"] < BIG_ROWS, f"the kill came {seen['lines_read']} lines into {BIG_ROWS}"
            # Every job ends, the big one finished by A or B from its checkpoint.
            finished = {job_id: await wait_job(survivors[n % 2], job_id) for n, job_id in enumerate(jobs)}
            lookups = []
            for n in range(0, len(RACE + OPTED), 50):
                part = (RACE + OPTED)[n:n + 50]
                page = await call(survivors[n // 50 % 2], "get_contacts", {"emails": part, "limit": 100})
                lookups.append((part, page))
            stats = (await call(a, "get_stats", {"list_ids": [list_id]}))["stats"]
            base = (await call(b, "get_stats", {}))["stats"]

        # -- every email exactly once, nothing lost --------------------------------------------------------
        expected = small_emails | big_emails | set(RACE)
        (total, distinct), = sql(pg_url, "SELECT COUNT(*), COUNT(DISTINCT email_key) FROM contacts")
        assert sql(pg_url, "SELECT email_key, COUNT(*) FROM contacts GROUP BY 1 HAVING COUNT(*) > 1 LIMIT 5") == []
        assert {r[0] for r in sql(pg_url, "SELECT email_key FROM contacts")} == expected
        assert total == distinct == len(expected)
        for asked, page in lookups:
            assert page.get("not_found", []) == [], page["not_found"]
            assert sorted(x["email"].lower() for x in page["contacts"]) == sorted(set(asked))
        # A new address raced through three processes is created by exactly one of them.
        assert all(created[f"solo{j}@example.com"] == 1 for j in range(20)), created
        assert all(created[e] <= 1 for e in RACE), created

        # -- every job completed, once, its counts adding up -----------------------------------------------
        assert {j: f["status"] for j, f in finished.items()} == dict.fromkeys(jobs, "completed"), finished
        for job in finished.values():
            counted = sum(job[k] for k in ("created", "updated", "unchanged", "duplicates", "skipped", "invalid"))
            assert counted == job["lines_read"] == job["total_lines"], job
            assert job["lines_read"] == (BIG_ROWS if job["id"] == big["id"] else SMALL_ROWS), job
        resumed = finished[big["id"]]
        # C had committed part of it: taken up again from line 0, or from anything but its checkpoint, the lines
        # read would exceed the file's. Its own emails: created once each (no line lost, none applied twice).
        assert (resumed["created"], resumed["invalid"], resumed["duplicates"]) == (len(big_emails), big_invalid,
                                                                                 big_repeats)
        with anyio.fail_after(10):
            while len(received) < len(jobs):
                await anyio.sleep(0.1)
        await anyio.sleep(0.5)  # a second notification, if any, would come now
        assert Counter(r["job"]["id"] for r in received) == Counter(jobs)  # import.finished: once a job

        # -- the maintained statistics are a recount ------------------------------------------------------
        kept = {(kind, gid, profile): n for kind, gid, profile, n in
                sql(pg_url, "SELECT kind, group_id, profile, n FROM group_counts WHERE n <> 0")}
        assert kept == dict(recount_groups(pg_url))
        recount = list_recount(pg_url, list_id)
        assert recount["subscribers"] == len(expected)  # every import and create joined the list
        assert stats["subscribers"] == base["subscribers"] == recount["subscribers"]
        assert {ch: stats["reachable"].get(ch, 0) for ch in recount["reachable"]} == recount["reachable"]
        assert (stats["opted_out"].get("email", 0), stats["opted_out"].get("sms", 0), stats.get("blacklisted", 0)) == (
            recount["opted_out_email"], recount["opted_out_sms"], recount["blacklisted"])

        # -- opt-outs kept, whichever process created or imported the contact and when ---------------------
        masks = dict(sql(pg_url, "SELECT email_key, optout_mask FROM contacts WHERE email_key = ANY(%s)", (OPTED,)))
        assert set(masks) == set(OPTED)
        assert all(masks[e] == 15 for e in OPTED[0::2]), masks      # unsubscribed: every channel
        assert all(masks[e] & 1 for e in OPTED[1::2]), masks        # hardbounce: email
        opted_pages = [x for _, page in lookups for x in page["contacts"] if x["email"].lower() in OPTED]
        assert opted_pages and all("email" in x.get("opted_out", []) for x in opted_pages)
        assert recount["opted_out_email"] >= len(OPTED)

        # The big job's claim was held, at the kill, by a session of C's, which the kill ended.
        assert killed_at["holder"] is not None, "no process held a claim on the running job"
        assert not backend_alive(pg_url, killed_at["holder"])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            proc.wait(10)
