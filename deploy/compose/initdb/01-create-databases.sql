-- docker-compose only: the postgres image runs this once, on an empty data directory.
-- One database per service, all on one server (each service owns its own).
CREATE DATABASE vt_issuance;
CREATE DATABASE vt_redemption;
CREATE DATABASE vt_attendance;
CREATE DATABASE vt_settlement;
CREATE DATABASE vt_statistics;
CREATE DATABASE vt_gateway;
