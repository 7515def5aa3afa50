# ---------------------------------------------------------------------------
# Connection. Passed to psql as libpq environment variables (PGHOST, ...), so
# no value is ever quoted into a shell command.
#
# Credentials: leave `password` unset and give psql its password through the
# environment of the `terraform` process, which psql inherits: PGPASSWORD,
# PGPASSFILE (a .pgpass file) or PGSERVICEFILE + PGSERVICE (a service file).
# Then the password is in no Terraform variable, plan, or state, and psql's
# output stays visible. See README.md ("Credentials").
# ---------------------------------------------------------------------------

variable "host" {
  type        = string
  description = "Database server: host name, IP address, or Unix-socket directory (an absolute path), as libpq's PGHOST."
  nullable    = false

  validation {
    condition     = length(trimspace(var.host)) > 0
    error_message = "The host must not be empty."
  }
}

variable "port" {
  type        = number
  default     = 5432
  description = "Database server port (for a Unix socket: the socket file's port number)."
  nullable    = false

  validation {
    condition     = var.port == floor(var.port) && var.port >= 1 && var.port <= 65535
    error_message = "The port must be a whole number from 1 to 65535."
  }
}

variable "database" {
  type        = string
  default     = "postgres"
  description = "Database to provision."
  nullable    = false

  validation {
    condition     = length(var.database) > 0
    error_message = "The database name must not be empty."
  }
}

variable "user" {
  type        = string
  default     = "postgres"
  description = "Role psql connects as; it owns the objects the script creates."
  nullable    = false

  validation {
    condition     = length(var.user) > 0
    error_message = "The user name must not be empty."
  }
}

variable "sslmode" {
  type        = string
  default     = "prefer"
  description = "libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full. Use require or stricter for a hosted (Supabase) database."
  nullable    = false

  validation {
    condition     = contains(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], var.sslmode)
    error_message = "The sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full."
  }
}

variable "password" {
  type        = string
  default     = null
  sensitive   = true
  description = "Optional password, passed to psql as PGPASSWORD. Prefer leaving it null and setting PGPASSWORD, PGPASSFILE or PGSERVICEFILE for terraform: a sensitive value in the provisioner makes Terraform hide psql's streamed output, and a value set here is kept in saved plan files."
}

variable "psql_path" {
  type        = string
  default     = "psql"
  description = "psql executable: a name looked up on PATH, or a path."
  nullable    = false

  validation {
    condition     = length(var.psql_path) > 0
    error_message = "The psql path must not be empty."
  }
}

# ---------------------------------------------------------------------------
# Template variables: the `variable` blocks of supabase-init.hcl, with the same
# type, default and description, and each `pattern` as a validation. A test
# (tests/test_terraform_module.py) fails when the two sides disagree.
# ---------------------------------------------------------------------------

variable "schema" {
  type        = string
  default     = "public"
  description = "Schema that holds the CRM tables, views and functions."
  nullable    = false

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.schema))
    error_message = "The schema must match ^[a-z_][a-z0-9_]{0,62}$."
  }

  # kind = "schema": names PostgreSQL keeps for itself, and names it would
  # truncate (63 bytes; base64 of at most 63 bytes is at most 84 characters).
  validation {
    condition     = length(var.schema) > 0 && substr(var.schema, 0, 3) != "pg_" && var.schema != "information_schema" && length(base64encode(var.schema)) <= 84
    error_message = "The schema must not be a name PostgreSQL reserves for itself (pg_*, information_schema), empty, or longer than 63 bytes."
  }
}

variable "private_schema" {
  type        = string
  default     = "crm_private"
  description = "Schema that holds what API users may reach only through the views (the recipient counters). Do not expose it in the API settings."
  nullable    = false

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.private_schema))
    error_message = "The private_schema must match ^[a-z_][a-z0-9_]{0,62}$."
  }

  # kind = "schema": names PostgreSQL keeps for itself, and names it would
  # truncate (63 bytes; base64 of at most 63 bytes is at most 84 characters).
  validation {
    condition     = length(var.private_schema) > 0 && substr(var.private_schema, 0, 3) != "pg_" && var.private_schema != "information_schema" && length(base64encode(var.private_schema)) <= 84
    error_message = "The private_schema must not be a name PostgreSQL reserves for itself (pg_*, information_schema), empty, or longer than 63 bytes."
  }
}

variable "lock_timeout" {
  type        = string
  default     = "5s"
  description = "How long one statement may wait for a lock before the whole apply fails (PostgreSQL interval, e.g. 5s, 500ms)."
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{1,9}(us|ms|s|min|h)?$", var.lock_timeout))
    error_message = "The lock_timeout must match ^[0-9]{1,9}(us|ms|s|min|h)?$."
  }

  # kind = "duration": PostgreSQL keeps the value in whole milliseconds
  # (rounding half to even), so 1us to 500us would silently become 0, which
  # turns the timeout off; and at most 2147483647 ms fit.
  validation {
    condition = try(
      tonumber(regex("^[0-9.]+", var.lock_timeout)) == 0 || (
        tonumber(regex("^[0-9.]+", var.lock_timeout)) * lookup({ "" = 1, us = 0.001, ms = 1, s = 1000, min = 60000, h = 3600000, d = 86400000 }, regex("[a-z]*$", var.lock_timeout), 0) > 0.5
        && tonumber(regex("^[0-9.]+", var.lock_timeout)) * lookup({ "" = 1, us = 0.001, ms = 1, s = 1000, min = 60000, h = 3600000, d = 86400000 }, regex("[a-z]*$", var.lock_timeout), 0) < 2147483647.5
      ),
      false
    )
    error_message = "The lock_timeout must not round to 0 ms unless it is 0 (PostgreSQL keeps whole milliseconds: 1us to 500us would turn the timeout off), and must be at most 2147483647 ms."
  }
}

variable "statement_timeout" {
  type        = string
  default     = "5min"
  description = "How long one statement may run before the whole apply fails (PostgreSQL interval; 0 disables)."
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{1,9}(us|ms|s|min|h)?$", var.statement_timeout))
    error_message = "The statement_timeout must match ^[0-9]{1,9}(us|ms|s|min|h)?$."
  }

  # kind = "duration": PostgreSQL keeps the value in whole milliseconds
  # (rounding half to even), so 1us to 500us would silently become 0, which
  # turns the timeout off; and at most 2147483647 ms fit.
  validation {
    condition = try(
      tonumber(regex("^[0-9.]+", var.statement_timeout)) == 0 || (
        tonumber(regex("^[0-9.]+", var.statement_timeout)) * lookup({ "" = 1, us = 0.001, ms = 1, s = 1000, min = 60000, h = 3600000, d = 86400000 }, regex("[a-z]*$", var.statement_timeout), 0) > 0.5
        && tonumber(regex("^[0-9.]+", var.statement_timeout)) * lookup({ "" = 1, us = 0.001, ms = 1, s = 1000, min = 60000, h = 3600000, d = 86400000 }, regex("[a-z]*$", var.statement_timeout), 0) < 2147483647.5
      ),
      false
    )
    error_message = "The statement_timeout must not round to 0 ms unless it is 0 (PostgreSQL keeps whole milliseconds: 1us to 500us would turn the timeout off), and must be at most 2147483647 ms."
  }
}

# ---------------------------------------------------------------------------
# How the module runs the script: module inputs only, not template variables
# (they change neither the SQL nor its hash). See README.md.
# ---------------------------------------------------------------------------

variable "reapply_on_every_apply" {
  type        = bool
  default     = false
  description = "Run the script on every terraform apply, not only when the SQL or the target changes, so that apply heals drift (a dropped index, a revoked grant, ...). Every plan then shows the resource as replaced, and every apply costs one run of the script; on an up-to-date database that run is catalog reads only and takes no lock stronger than ACCESS SHARE."
  nullable    = false
}

variable "concurrent_indexes" {
  type        = bool
  default     = false
  description = "Build indexes that are missing on tables that already hold rows with CREATE INDEX CONCURRENTLY, one at a time after the script's transaction has committed, so that writes to those tables go on during the build. A failed build drops the invalid index it left and fails the apply; the next apply builds it again. Needs psql 11 or newer."
  nullable    = false
}
