-- The application's own database, beside Temporal's (created by auto-setup).
CREATE DATABASE helpdesk;
