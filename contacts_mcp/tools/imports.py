"""import_file (its jobs are read and cancelled with the job tools: tools/jobs.py)."""

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlparse

from mcp.server.mcpserver import Context
from pydantic import Field

from ..core.imports import jobs as core
from ..core.imports.readers import FORMATS
from ..core.imports.sources import Source
from ..core import jobs
from ..core.models import ImportJob
from .common import RestoreDeleted, Toolbox, client_is_local, scope_of, tool
from .jobs import Wait, progress

JSON_ROWS_MAX = 200_000  # bigger sets of rows go as a file (file_base64, url or path)


async def _client_roots(ctx: Context) -> list[Path]:
    """The folders the client declared as its roots, if it declares any."""
    caps = ctx.client_capabilities
    if caps is None or caps.roots is None:
        return []
    try:
        result = await ctx.session.list_roots()
    except Exception:  # a client that declares roots but cannot list them grants nothing
        return []
    return [Path(unquote(urlparse(str(r.uri)).path)).resolve() for r in result.roots
            if str(r.uri).startswith("file://")]


def register(box: Toolbox) -> None:
    @tool(box, read_only=False)
    async def import_file(
        ctx: Context,
        path: Annotated[str | None, Field(description="A server file inside an import folder.")] = None,
        url: Annotated[str | None, Field(description="An http(s) URL to download (user:pass@ allowed).")] = None,
        csv_text: Annotated[str | None, Field(description="The CSV itself (max 10 MB).")] = None,
        json_rows: Annotated[list[dict[str, Any]] | None,
                             Field(description="Rows as objects keyed by header, or v3-style with nested "
                                               "attributes (max 10 MB).",
                                   max_length=JSON_ROWS_MAX)] = None,
        file_base64: Annotated[str | None, Field(description="File bytes, base64 (max 20 MB).")] = None,
        filename: Annotated[str | None, Field(description="Its extension tells the format.")] = None,
        format: Annotated[Literal[FORMATS] | None,  # type: ignore[valid-type] - the readers' formats
                          Field(description="Default: from name or content.")] = None,
        has_header: Annotated[bool | None, Field(description="false: columns in get_fields order. Default: "
                                                             "sniffed.")] = None,
        mapping: Annotated[dict[str, str] | None, Field(description="Column (header or 1-based number) -> field "
                                                                    "or 'ignore'.")] = None,
        delimiter: Annotated[str | None, Field(description="CSV delimiter; default sniffed.")] = None,
        encoding: Annotated[str | None, Field(description="e.g. utf-8, cp1252; default detected.")] = None,
        sheet: Annotated[str | None, Field(description="Sheet name; default the first.")] = None,
        list_ids: Annotated[list[int] | None, Field(description="Lists every contact joins.")] = None,
        segment_ids: Annotated[list[int] | None, Field(description="Segments all join.")] = None,
        unlink_segment_ids: Annotated[list[int] | None, Field(description="Segments all leave.")] = None,
        groups: Annotated[list[str] | None, Field(max_length=100, description="Lists or segments all join, by "
                                                                               "name.")] = None,
        new_list_name: Annotated[str | None, Field(description="Create a list of the contacts.")] = None,
        new_list_folder_id: Annotated[int | None, Field(description="Folder of the new list.")] = None,
        update_enabled: Annotated[bool, Field(description="false: only create new contacts.")] = True,
        empty_values_erase: Annotated[bool, Field(description="Empty cells clear stored values.")] = False,
        optout_channels: Annotated[list[Literal["email", "sms"]] | None,
                                   Field(description="Opt every contact out (a suppression list).")] = None,
        dedupe_on: Annotated[Literal["email", "mobile", "ext_id"],
                             Field(description="Key matching existing contacts.")] = "email",
        notify_url: Annotated[str | None, Field(description="POSTed the summary at the end.")] = None,
        event_key: Annotated[str | None, Field(description="Event type (letters, digits) per new contact.")] = None,
        restore_deleted: RestoreDeleted = False,
        wait_seconds: Wait = 0,
    ) -> ImportJob:
        """Import contacts from a CSV, XLSX, XLS, ODS or JSON file (or one inside a ZIP), given as a path, a
        URL, inline CSV/JSON or base64. Returns at once with a queued job (and new list id); follow it with
        get_jobs. Headers match fields by name or alias; unknown columns are reported. Rejected lines go
        to the job's error report; opt-outs are never lifted."""
        scope = scope_of(ctx)
        source = Source(path=path, url=url, csv_text=csv_text, json_rows=json_rows, file_base64=file_base64,
                        filename=filename)
        options = core.ImportOptions(format=format, has_header=has_header, mapping=mapping, delimiter=delimiter,
                                     encoding=encoding, sheet=sheet, list_ids=list_ids or [],
                                     segment_ids=segment_ids or [], unlink_segment_ids=unlink_segment_ids or [],
                                     update_existing=update_enabled, empty_values_erase=empty_values_erase,
                                     optout_channels=list(optout_channels or []), dedupe_on=dedupe_on,
                                     event_key=event_key, restore_deleted=restore_deleted)
        # A remote client's roots name folders on its own disk, not ours: over HTTP they would let a token
        # holder read any server file by declaring file:///. Only CONTACTS_MCP_IMPORT_ROOTS counts there.
        roots = await _client_roots(ctx) if path is not None and client_is_local(ctx) else []
        job = await core.create_import(scope, source, options, new_list_name=new_list_name,
                                       new_list_folder_id=new_list_folder_id, notify_url=notify_url,
                                       client_roots=roots, groups=groups)
        if wait_seconds:
            job = await jobs.wait_for(scope, job.id, wait_seconds, lambda j: progress(ctx, j))
        return job  # type: ignore[return-value]
