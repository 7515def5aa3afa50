# Provisions the CRM schema into one local PostgreSQL database. The defaults
# match Supabase's local development stack (`supabase start`); give the
# password through the environment, not a variable:
#
#   export PGPASSWORD=postgres
#   terraform init && terraform apply

terraform {
  required_version = ">= 1.4"
}

variable "host" {
  type        = string
  default     = "127.0.0.1"
  description = "Database server host, or Unix-socket directory."
}

variable "port" {
  type        = number
  default     = 54322
  description = "Database server port (54322 is Supabase's local development database)."
}

variable "database" {
  type        = string
  default     = "postgres"
  description = "Database to provision."
}

variable "user" {
  type        = string
  default     = "postgres"
  description = "Role to connect as."
}

variable "schema" {
  type        = string
  default     = "public"
  description = "Schema for the CRM tables, views and functions."
}

module "crm_database" {
  source = "../.."

  host     = var.host
  port     = var.port
  database = var.database
  user     = var.user
  sslmode  = "disable"
  schema   = var.schema
}

output "sql_sha256" {
  description = "SHA-256 of the SQL the database was provisioned with."
  value       = module.crm_database.sql_sha256
}

output "connection" {
  description = "Where the schema was provisioned."
  value       = module.crm_database.connection
}
