-- name: memberships without foreign-key checks
-- A membership row is only ever written by a statement that takes its contact and its group from the
-- account's own rows, in a unit holding the account's write lock (join_group, add_memberships,
-- merge_members), and deleted with either (delete_groups, erase_contacts delete them explicitly). The
-- per-row checks cost 8 of the 11 s a merge of two 500,000-member lists took (a FOR KEY SHARE lock
-- on every contact and list row, one at a time).
ALTER TABLE list_members DROP CONSTRAINT list_members_contact_id_fkey;
ALTER TABLE list_members DROP CONSTRAINT list_members_list_id_fkey;
ALTER TABLE segment_members DROP CONSTRAINT segment_members_contact_id_fkey;
ALTER TABLE segment_members DROP CONSTRAINT segment_members_segment_id_fkey;
