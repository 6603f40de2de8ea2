-- City/ASN detail when the operator configures MMDB files (NULL otherwise).
ALTER TABLE events ADD COLUMN latitude DOUBLE;
ALTER TABLE events ADD COLUMN longitude DOUBLE;
ALTER TABLE events ADD COLUMN time_zone VARCHAR;
ALTER TABLE events ADD COLUMN isp VARCHAR;
ALTER TABLE events ADD COLUMN organization VARCHAR;
