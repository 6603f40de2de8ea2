-- The UTC days a forget still has to rebuild the loader's tables for (store.py: forget). A
-- forget deletes the person's rows in one transaction, which records their days here, then
-- rebuilds each day a span of whole hours per transaction (at once, a person seen on 15 days
-- of 10M events needed more than the store's 96 MB); interrupted, the store finishes them
-- when it opens.
CREATE TABLE IF NOT EXISTS forget_days (
    project_id VARCHAR NOT NULL,
    env        VARCHAR NOT NULL,
    day        DATE NOT NULL
);
