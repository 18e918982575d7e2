-- name: webhook signing secrets
-- Each webhook signs its deliveries (HMAC-SHA256 of the body) with a secret of its own, shown once at
-- creation, so a receiver can tell our POSTs from anyone else's.

ALTER TABLE webhooks ADD COLUMN secret TEXT;
