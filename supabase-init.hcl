# supabase-init config for the CRM / Campaign Builder database.
#
# Terraform-time variables (filled by templatefile() / `supabase-init render`),
# the Supabase API roles, the objects the templates create, and who may do
# what with them. `supabase-init build` turns this and templates/ into
# terraform/supabase-init.sql.tpl.

variable "schema" {
  type        = "string"
  default     = "public"
  description = "Schema that holds the CRM tables, views and functions."
  pattern     = "^[a-z_][a-z0-9_]{0,62}$"
  kind        = "schema"
}

variable "lock_timeout" {
  type        = "string"
  default     = "5s"
  description = "How long one statement may wait for a lock before the whole apply fails (PostgreSQL interval, e.g. 5s, 500ms)."
  pattern     = "^[0-9]{1,9}(us|ms|s|min|h)?$"
  kind        = "duration"
}

variable "statement_timeout" {
  type        = "string"
  default     = "5min"
  description = "How long one statement may run before the whole apply fails (PostgreSQL interval; 0 disables)."
  pattern     = "^[0-9]{1,9}(us|ms|s|min|h)?$"
  kind        = "duration"
}

# Supabase's API roles, with Supabase's own attributes. They are created only
# where missing (plain PostgreSQL); an existing role is altered only when
# supabase-init created it.
role "anon" {
  login      = false
  inherit    = false
  bypass_rls = false
}

role "authenticated" {
  login      = false
  inherit    = false
  bypass_rls = false
}

role "service_role" {
  login      = false
  inherit    = false
  bypass_rls = true
}

# In creation order: each has a template templates/<kind>/<name>.sql.j2.
objects {
  functions = ["set_updated_at()"]
  tables = [
    "target_group_mappings",
    "campaigns",
    "campaign_executions",
    "campaign_recipients",
    "customer_360",
    "customer_activities",
  ]
  views = ["active_campaigns", "campaign_metrics"]
}

# Grants are declarative: on the objects above, each role ends up with exactly
# these privileges (anything else granted to these roles or PUBLIC is revoked).
grant "schema_usage" {
  roles      = ["anon", "authenticated", "service_role"]
  privileges = ["USAGE"]
  schema     = true
}

grant "service_role_tables" {
  roles      = ["service_role"]
  privileges = ["ALL"]
  tables     = ["*"]
}

grant "operators_tables" {
  roles      = ["authenticated"]
  privileges = ["SELECT", "INSERT", "UPDATE", "DELETE"]
  tables = [
    "target_group_mappings",
    "campaigns",
    "campaign_executions",
    "campaign_recipients",
    "customer_360",
  ]
}

# The activity timeline is append-only for operators.
grant "operators_activities" {
  roles      = ["authenticated"]
  privileges = ["SELECT", "INSERT"]
  tables     = ["customer_activities"]
}

grant "views_read" {
  roles      = ["authenticated", "service_role"]
  privileges = ["SELECT"]
  views      = ["*"]
}

# The trigger function runs as part of UPDATE; nobody calls it directly.
grant "functions_service" {
  roles      = ["service_role"]
  privileges = ["EXECUTE"]
  functions  = ["*"]
}

# Row level security is enabled on every table. service_role bypasses it;
# authenticated CRM operators read and write every row; anon has no grant and
# no policy, so it sees nothing.
policy "target_group_mappings" "operators_all" {
  roles      = ["authenticated"]
  command    = "ALL"
  using      = "true"
  with_check = "true"
}

policy "campaigns" "operators_all" {
  roles      = ["authenticated"]
  command    = "ALL"
  using      = "true"
  with_check = "true"
}

policy "campaign_executions" "operators_all" {
  roles      = ["authenticated"]
  command    = "ALL"
  using      = "true"
  with_check = "true"
}

policy "campaign_recipients" "operators_all" {
  roles      = ["authenticated"]
  command    = "ALL"
  using      = "true"
  with_check = "true"
}

policy "customer_360" "operators_all" {
  roles      = ["authenticated"]
  command    = "ALL"
  using      = "true"
  with_check = "true"
}

policy "customer_activities" "operators_read" {
  roles   = ["authenticated"]
  command = "SELECT"
  using   = "true"
}

policy "customer_activities" "operators_insert" {
  roles      = ["authenticated"]
  command    = "INSERT"
  with_check = "true"
}
