-- The application's own role and database, beside Temporal's (which auto-setup
-- creates). PostgreSQL runs this once, when its data volume is first initialised;
-- the password is a placeholder: change it here and in docker-compose.yml.
CREATE ROLE helpdesk LOGIN PASSWORD 'helpdesk';
CREATE DATABASE helpdesk OWNER helpdesk;
