"""shopops application shell: the CLI, the demo supervisor, messages in the operator's language.

The layers (see docs/ARCHITECTURE.md):
  domain/      pure business rules (no Prefect, no database, no HTTP)
  connectors/  marketplace HTTP clients (no Prefect)
  warehouse/   SQLAlchemy models, Alembic migrations, the repository
  tasks/       Prefect tasks: thin wrappers around domain functions and I/O
  flows/       Prefect flows composing tasks; deployments in prefect.yaml
  config/      settings and the YAML business configuration
  shopops/     this package: CLI and process supervision
  sandbox/     the local sandbox marketplace (demo data source, test and benchmark load)
"""
__version__ = "0.1.0"
