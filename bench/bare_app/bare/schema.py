"""The bare app's two tables (no reflex import: the benchmarks seed them from outside the app)."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bare_orders (id VARCHAR(32) PRIMARY KEY, session_id VARCHAR(255) UNIQUE,"
    " status VARCHAR(16) NOT NULL, amount_total INTEGER NOT NULL, created_at FLOAT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bare_events (id VARCHAR(255) PRIMARY KEY)",
)
