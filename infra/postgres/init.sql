-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
-- The superuser `komagane` and its default database come from POSTGRES_USER; each pillar
-- service owns its own database.
CREATE DATABASE people OWNER komagane;
CREATE DATABASE exchange OWNER komagane;
CREATE DATABASE jobs OWNER komagane;
CREATE DATABASE health OWNER komagane;
CREATE DATABASE housing OWNER komagane;
CREATE DATABASE partners OWNER komagane;
