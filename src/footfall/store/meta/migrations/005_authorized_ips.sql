-- Server-side callers a project accepts ingest from (CIDRs, JSON list); empty = any.
ALTER TABLE projects ADD COLUMN authorized_ips TEXT NOT NULL DEFAULT '[]';
