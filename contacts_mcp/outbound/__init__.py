"""Everything that talks to other hosts: URL vetting (SSRF rules, pinned addresses), downloads for
imports, JSON POSTs for notifications and webhooks. Nothing here knows the domain; failures are
OutboundError (a refusal worded for the caller) or its OutboundLimit."""

from ._transfer import download, post_json
from ._vetting import ALLOW_PRIVATE_SETTING, Download, PostResult, UrlPolicy, check_url, split_credentials
from .errors import OutboundError, OutboundLimit

__all__ = ["ALLOW_PRIVATE_SETTING", "Download", "OutboundError", "OutboundLimit", "PostResult", "UrlPolicy",
           "check_url", "download", "post_json", "split_credentials"]
