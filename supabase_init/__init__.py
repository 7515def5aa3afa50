"""supabase-init: provisioning SQL for Supabase / PostgreSQL from Jinja templates and HCL."""

__version__ = "0.1.0"
