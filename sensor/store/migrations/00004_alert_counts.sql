-- Covering indexes for the appliance's alert lists and counts: open alerts
-- by severity (dashboard, metrics) and by address (the inventory's
-- open-alert column), and titles (search), which otherwise scan every alert
-- document.

-- +goose Up
CREATE INDEX alerts_status_severity ON alerts (status, severity, last_ns);
CREATE INDEX alerts_status_src ON alerts (status, src_ip);
CREATE INDEX alerts_status_dst ON alerts (status, dst_ip);
CREATE INDEX alerts_title ON alerts (title, last_ns);

-- +goose Down
DROP INDEX alerts_title;
DROP INDEX alerts_status_dst;
DROP INDEX alerts_status_src;
DROP INDEX alerts_status_severity;
