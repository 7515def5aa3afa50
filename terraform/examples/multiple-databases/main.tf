# Provisions the CRM schema into several databases with one module block and
# for_each: one terraform_data (and one psql run) per database, replaced
# independently. Credentials come from the environment (PGPASSWORD,
# PGPASSFILE or PGSERVICEFILE), shared by every instance.
#
#   terraform init
#   terraform apply -var 'databases={"staging":{"host":"db1","database":"crm"},"production":{"host":"db2","database":"crm","sslmode":"verify-full"}}'

terraform {
  required_version = ">= 1.4"
}

variable "databases" {
  type = map(object({
    host     = string
    port     = optional(number, 5432)
    database = string
    user     = optional(string, "postgres")
    sslmode  = optional(string, "require")
    schema   = optional(string, "public")
  }))
  description = "Databases to provision, by a name of your choosing."
}

module "crm_database" {
  source   = "../.."
  for_each = var.databases

  host     = each.value.host
  port     = each.value.port
  database = each.value.database
  user     = each.value.user
  sslmode  = each.value.sslmode
  schema   = each.value.schema
}

output "sql_sha256" {
  description = "SHA-256 of the SQL each database was provisioned with."
  value       = { for name, db in module.crm_database : name => db.sql_sha256 }
}

output "connections" {
  description = "Where each database lives."
  value       = { for name, db in module.crm_database : name => db.connection }
}
