"""Settings, the database, the tables and the change port: what every other package stands on."""
