output "sql_sha256" {
  description = "SHA-256 of the rendered SQL; it changes exactly when the module re-runs the script."
  value       = local.sql_sha256
}

output "applied_sql_sha256" {
  description = "SHA-256 of the SQL last applied; known only after apply, so resources that use it wait for the schema."
  value       = terraform_data.this.output
}

output "sql" {
  description = "The rendered SQL, byte-identical to `supabase-init render` with the same variables (for review or archiving)."
  value       = local.sql
}

output "schema" {
  description = "Schema that holds the provisioned tables, views and functions."
  value       = var.schema
}

output "template_variables" {
  description = "The template variable values the SQL was rendered with."
  value       = local.template_variables
}

output "connection" {
  description = "Where the script runs (no password): host, port, database, user, sslmode."
  value = {
    host     = var.host
    port     = var.port
    database = var.database
    user     = var.user
    sslmode  = var.sslmode
  }
}

output "private_schema" {
  description = "Schema that holds what API users reach only through the views (keep it out of the API's exposed schemas)."
  value       = var.private_schema
}
