"""Prompts: step-by-step guides for common jobs, naming the real tools and arguments.

MCP prompt arguments arrive as strings, so each prompt checks its own values and fails with a message that
names the argument: a validation error raised inside a prompt would reach the client only as
"Error rendering prompt".
"""

from typing import Annotated
from urllib.parse import urlparse

from mcp import MCPError
from mcp.server.mcpserver import MCPServer
from mcp_types import INVALID_PARAMS
from pydantic import Field

from ..core.models import CHANNELS
# What a contact needs to be reachable on a channel (Reachable in core.models), for the "not messaged" line.
_ADDRESS = {"email": "an email", "sms": "a mobile", "voice": "a phone number", "voicemail": "a phone number"}


def _invalid(argument: str, problem: str) -> MCPError:
    return MCPError(INVALID_PARAMS, f"{argument}: {problem}")


def _list_id(value: str, argument: str = "list_id") -> int:
    value = value.strip()
    if not value.isdigit() or int(value) == 0:
        raise _invalid(argument, f"must be a list id (a positive number), received {value!r}")
    return int(value)


def _list_ids(value: str) -> list[int]:
    ids = list(dict.fromkeys(_list_id(part, "list_ids") for part in value.replace(" ", "").split(",") if part))
    if len(ids) < 2:
        raise _invalid("list_ids", f"give two or more distinct list ids separated by commas, e.g. '12,34'; "
                                   f"received {value!r}")
    return ids


def _source_argument(source: str) -> tuple[str, str]:
    """import_file's argument for this source, and a list name derived from its file name."""
    parsed = urlparse(source)
    argument = "url" if parsed.scheme in ("http", "https") else "path"
    name = (parsed.path if argument == "url" else source).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return argument, f"Import {stem or 'CRM export'}"


def register(server: MCPServer) -> None:
    @server.prompt(title="Import a CRM export")
    def import_crm_export(
        source: Annotated[str, Field(description="The export file: a path on the server or an http(s) URL.")],
        list_name: Annotated[str, Field(description="Name of the new list; default 'Import <file name>'.")] = "",
    ) -> str:
        """Import a CRM export into a new list, then review unmapped columns, rejected lines and counts."""
        source = source.strip()
        if not source:
            raise _invalid("source", "give a file path on the server or an http(s) URL")
        argument, default_name = _source_argument(source)
        name = list_name.strip() or default_name
        return f"""\
Import the CRM export {source} into a new list named "{name}", then report on it.

1. import_file with {argument}="{source}", new_list_name="{name}", wait_seconds=60. Note the job id and list_id.
2. While the status is queued or running, call get_jobs with job_id=<job id>, wait_seconds=60. If it \
failed, report its error and stop.
3. Check unknown_columns (ignored) and mapping. For a column holding contact data, find its field with \
get_fields (manage_fields action="create" if none fits), then set_field_alias with field=<field>, \
alias=<column header> so later imports read it (for a one-off column, pass mapping={{"<column>": "<field>"}} \
instead). To fill it in, run import_file again on the same source with list_ids=[<list_id>] instead of \
new_list_name: existing contacts are updated, not duplicated.
4. If invalid > 0, read contacts://imports/<latest job id>/errors (each entry: line, values, reason; pass next_cursor \
as ?cursor= until absent) and count rejections by reason.
5. Where a rejection is fixable (wrong column mapping, number or date format), correct only those lines and \
import them: import_file with json_rows=<corrected rows keyed by the original headers>, list_ids=[<list_id>], \
any mapping used, wait_seconds=60.
6. Summarise: lines read, created, updated, unchanged, invalid, duplicates (lines repeating an earlier line, \
skipped); the three most common rejection reasons with counts and an example line each; what you fixed. \
Propose fixes for the rest and point to contacts://imports/<job id>/errors.csv for correcting them in the CRM.

Importing never lifts an opt-out; do not call restore_optout."""

    @server.prompt(title="Check a list before an SMS campaign")
    def clean_list_for_sms(
        list_id: Annotated[str, Field(description="The id of the list to check.")],
    ) -> str:
        """Check who on a list an SMS campaign will reach, and who it will not and why."""
        lid = _list_id(list_id)
        return f"""\
Check list {lid} before an SMS campaign: who will get the message, who will not, and why.

1. get_stats with list_ids=[{lid}]: report subscribers, reachable.sms (the real audience), \
missing_address.sms (no mobile), opted_out.sms and opted_out_by_reason.
2. get_fields with names=["mobile"], with_stats=true, list_id={lid}: how many members have a mobile and what \
share.
3. Show who is left out: get_optouts with channel="sms", list_id={lid} (who, reason, when), and a sample of \
members without a mobile from get_contacts with list_id={lid} (follow next_cursor; show a few, not all).
4. Explain plainly that contacts without a mobile and contacts opted out of sms will not be messaged. A \
missing mobile can be added with create_contact (contact_id) or an import when the user has the number. Never call \
restore_optout to grow the audience: lift an opt-out only when the contact asked for it, with that consent \
stated as the reason.
5. Optionally, if the campaign also targets other lists, offer a clean combined list: merge_lists with \
list_ids=[{lid}, <other list ids>], name=<campaign name>, exclude_optout_channel="sms". It leaves out sms \
opt-outs only; contacts without a mobile stay in it.
6. Show the chart contacts://stats/{lid}/chart.png (reachable, opted out, no address per channel).

End with: subscribers, reachable by sms, without a mobile, opted out of sms (by reason)."""

    @server.prompt(title="Build a campaign list from several lists")
    def build_campaign_list(
        list_ids: Annotated[str, Field(description="Two or more list ids separated by commas, e.g. '12,34'.")],
        name: Annotated[str, Field(description="Name of the new campaign list.")],
        channel: Annotated[str, Field(description="The campaign's channel: email (default), sms, voice or "
                                                  "voicemail.")] = "email",
    ) -> str:
        """Merge lists into one campaign list without contacts opted out of the channel, and report its reach."""
        ids = _list_ids(list_ids)
        channel = channel.strip().lower()
        if channel not in CHANNELS:
            raise _invalid("channel", f"must be one of {', '.join(CHANNELS)}, received {channel!r}")
        if not name.strip():
            raise _invalid("name", "give the new list a name")
        name = name.strip()
        unconfirmed = (" reachable.email also leaves out contacts awaiting double opt-in: give stats.unconfirmed."
                       if channel == "email" else "")
        return f"""\
Build the {channel} campaign list "{name}" from lists {ids} and report its reach.

1. get_lists with list_ids={ids}, properties=["stats"]: every list must exist (not_found empty); if one is missing, \
stop and ask.
2. merge_lists with list_ids={ids}, name="{name}", exclude_optout_channel="{channel}": a new list with each \
contact once, leaving out contacts opted out of {channel}. Note its id.
3. get_stats with list_ids={ids}: total_subscribers (a contact in two lists counts twice) and \
unique_subscribers (each contact once); the difference is the overlap.
4. get_stats with list_ids=[<new list id>]: subscribers, reachable.{channel}, missing_address.{channel}, \
opted_out.{channel} (expected 0).
5. Report as a short table: total vs unique subscribers of the source lists; contacts left out as opted out \
of {channel} (unique minus the new list's subscribers); the new list's subscribers; reachable by {channel}; \
without {_ADDRESS[channel]} (they stay on the list but will not be messaged).{unconfirmed}
6. Offer the chart contacts://stats/<new list id>/chart.png.

Never lift opt-outs to grow the audience: restore_optout only with the contact's own consent."""
