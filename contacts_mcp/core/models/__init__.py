"""Domain models: what callers send (inputs) and what they get back (outputs), one module per resource.

Outputs leave out empty values when serialised (see `Out`), so results stay small for an assistant.
"""

from ._base import Channel, ChannelOrAll, CHANNELS, CHANNEL_BITS, ALL_CHANNELS_MASK, Status, BUILTINS, BUILTIN_FIELDS, PHONE_FIELDS, TEXT_FIELDS, channels_of, Out, ChangeCount, DeleteResult
from .contacts import ContactInput, INPUT_ARGUMENTS, Contact, Outcome, ContactResult, ContactPage, UpsertItem, UpsertResult
from .stats import Reachable, Stats, ListFigures, StatsResult
from .lists import ListImport, ContactList, ListPage, ListRef, Folder, FolderPage, ListsChange, FoldersChange
from .fields import FieldInfo, FieldsChange, FieldStat, FieldStats, FieldPage
from .imports import JobStatus, ImportJob, ImportErrorLine, ImportErrorPage
from .exports import Delimiter, ExportFormat, ExportJob, JobPage
from .optouts import OptOut, OptOutPage, OptOutResult, RestoreResult
from .segments import Segment, SegmentPage, SegmentsChange, MembershipChange
from .events import SubscribeInput, SubscribeResult, Event, EventPage, Webhook, WebhooksResult
from .filters import Filter, FilterOp
from .plans import PlanResult
