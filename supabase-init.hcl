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

variable "private_schema" {
  type        = "string"
  default     = "crm_private"
  description = "Schema that holds what API users may reach only through the views (the recipient counters). Do not expose it in the API settings."
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

# Supabase's API roles, with Supabase's own attributes (INHERIT since 2023).
# They are created only where missing (plain PostgreSQL); an existing role is
# altered only when supabase-init created it.
role "anon" {
  login      = false
  inherit    = true
  bypass_rls = false
}

role "authenticated" {
  login      = false
  inherit    = true
  bypass_rls = false
}

role "service_role" {
  login      = false
  inherit    = true
  bypass_rls = true
}

# CRM access levels, lowest first; each includes the ones before it. On
# Supabase every person who signs up is `authenticated`, so that role alone
# grants nothing: a policy below requires a level, read from the caller's JWT
# at app_metadata.crm_role. Only an administrator can set app_metadata (the
# Auth admin API with the service key, or SQL on auth.users.raw_app_meta_data);
# a user cannot.
access "crm" {
  claim  = "app_metadata.crm_role"
  levels = ["viewer", "operator", "admin"]
}

# In creation order: each has a template templates/<kind>/<name>.sql.j2.
objects {
  functions = [
    "set_updated_at()",
    "guard_created_by()",
    "count_campaign_recipients()",
    "recount_campaign_recipients()",
  ]
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

# Out of the API: PostgREST serves only the schemas in its settings (on
# Supabase: public and graphql_public, plus storage), so API users reach
# these tables only through the views above, which read them. The grants
# and policies below apply to them as to the others.
objects "private_schema" {
  tables = ["campaign_recipient_counts"]
}

# Grants are declarative: on the objects above, each role ends up with exactly
# these privileges (anything else granted to these roles or PUBLIC is revoked).
# A schema grant names the variables of its schemas (schema = true: all).
grant "schema_usage" {
  roles      = ["anon", "authenticated", "service_role"]
  privileges = ["USAGE"]
  schemas    = ["schema"]
}

# anon gets nothing in the private schema, not even USAGE.
grant "private_schema_usage" {
  roles      = ["authenticated", "service_role"]
  privileges = ["USAGE"]
  schemas    = ["private_schema"]
}

grant "service_role_tables" {
  roles      = ["service_role"]
  privileges = ["ALL"]
  tables     = ["*"]
}

grant "crm_tables" {
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

# The activity timeline is append-only: nobody below service_role rewrites an
# entry (no UPDATE); admins may delete one (e.g. to erase a customer's data).
grant "crm_activities" {
  roles      = ["authenticated"]
  privileges = ["SELECT", "INSERT", "DELETE"]
  tables     = ["customer_activities"]
}

# The recipient counters are written only by their triggers (and
# service_role); a viewer reads them through the views, which are
# security_invoker and so need the reader's own SELECT (their schema is not
# served by the API, so the views are the only way there).
grant "crm_counts" {
  roles      = ["authenticated"]
  privileges = ["SELECT"]
  tables     = ["campaign_recipient_counts"]
}

grant "views_read" {
  roles      = ["authenticated", "service_role"]
  privileges = ["SELECT"]
  views      = ["*"]
}

# The trigger functions run as part of UPDATE; nobody calls them directly.
grant "functions_service" {
  roles      = ["service_role"]
  privileges = ["EXECUTE"]
  functions  = ["*"]
}

# Row level security is enabled on every table. service_role bypasses it;
# anon has no grant and no policy, so it sees nothing; an authenticated user
# gets rows only through these policies, each requiring a CRM level: viewers
# read, operators also insert and update, admins also delete. A user without
# a level matches none of them: no rows, and every write refused.
policy "target_group_mappings" "viewers_read" {
  roles   = ["authenticated"]
  command = "SELECT"
  level   = "viewer"
}

policy "target_group_mappings" "operators_insert" {
  roles   = ["authenticated"]
  command = "INSERT"
  level   = "operator"
}

policy "target_group_mappings" "operators_update" {
  roles   = ["authenticated"]
  command = "UPDATE"
  level   = "operator"
}

policy "target_group_mappings" "admins_delete" {
  roles   = ["authenticated"]
  command = "DELETE"
  level   = "admin"
}

policy "campaigns" "viewers_read" {
  roles   = ["authenticated"]
  command = "SELECT"
  level   = "viewer"
}

# created_by defaults to the caller's user id; an operator cannot insert a
# campaign in someone else's name (and cannot change created_by afterwards:
# the guard_created_by trigger).
policy "campaigns" "operators_insert" {
  roles        = ["authenticated"]
  command      = "INSERT"
  level        = "operator"
  owner_column = "created_by"
}

policy "campaigns" "operators_update" {
  roles   = ["authenticated"]
  command = "UPDATE"
  level   = "operator"
}

policy "campaigns" "admins_delete" {
  roles   = ["authenticated"]
  command = "DELETE"
  level   = "admin"
}

policy "campaign_executions" "viewers_read" {
  roles   = ["authenticated"]
  command = "SELECT"
  level   = "viewer"
}

policy "campaign_executions" "operators_insert" {
  roles   = ["authenticated"]
  command = "INSERT"
  level   = "operator"
}

policy "campaign_executions" "operators_update" {
  roles   = ["authenticated"]
  command = "UPDATE"
  level   = "operator"
}

policy "campaign_executions" "admins_delete" {
  roles   = ["authenticated"]
  command = "DELETE"
  level   = "admin"
}

policy "campaign_recipients" "viewers_read" {
  roles   = ["authenticated"]
  command = "SELECT"
  level   = "viewer"
}

policy "campaign_recipients" "operators_insert" {
  roles   = ["authenticated"]
  command = "INSERT"
  level   = "operator"
}

policy "campaign_recipients" "operators_update" {
  roles   = ["authenticated"]
  command = "UPDATE"
  level   = "operator"
}

policy "campaign_recipients" "admins_delete" {
  roles   = ["authenticated"]
  command = "DELETE"
  level   = "admin"
}

policy "campaign_recipient_counts" "viewers_read" {
  roles   = ["authenticated"]
  command = "SELECT"
  level   = "viewer"
}

policy "customer_360" "viewers_read" {
  roles   = ["authenticated"]
  command = "SELECT"
  level   = "viewer"
}

policy "customer_360" "operators_insert" {
  roles   = ["authenticated"]
  command = "INSERT"
  level   = "operator"
}

policy "customer_360" "operators_update" {
  roles   = ["authenticated"]
  command = "UPDATE"
  level   = "operator"
}

policy "customer_360" "admins_delete" {
  roles   = ["authenticated"]
  command = "DELETE"
  level   = "admin"
}

policy "customer_activities" "viewers_read" {
  roles   = ["authenticated"]
  command = "SELECT"
  level   = "viewer"
}

policy "customer_activities" "operators_insert" {
  roles   = ["authenticated"]
  command = "INSERT"
  level   = "operator"
}

policy "customer_activities" "admins_delete" {
  roles   = ["authenticated"]
  command = "DELETE"
  level   = "admin"
}

# Supabase Realtime streams the changes of the tables in this publication to
# subscribed clients (row level security still decides who sees which row).
# A campaign dashboard watches campaigns change status and their executions
# progress; recipients, customers and activities are too many rows, changing
# too often, to stream. Created when missing (plain PostgreSQL); a managed
# table not listed here is removed from it, other tables are left alone.
publication "supabase_realtime" {
  tables = ["campaigns", "campaign_executions"]
}

# Supabase's advisor warns that pg_graphql shows every relation authenticated
# can SELECT (its name and columns, never its rows) to every signed-in user.
# Each of these is read by CRM users, who are Supabase's `authenticated` role
# told apart only by their app_metadata.crm_role claim: a privilege cannot
# tell a signed-in user without a CRM level from a viewer, so revoking SELECT
# would lock the viewers out too. The policies give a user without a level no
# row. The recipient counters are not served by the API, but
# campaign_metrics is security_invoker and reads them with its reader's
# privileges. Objects are named as lint names them (the counters with their
# schema, the private_schema variable's value).
lint "pg_graphql_authenticated_table_exposed" {
  accept = [
    "table target_group_mappings",
    "table campaigns",
    "table campaign_executions",
    "table campaign_recipients",
    "table customer_360",
    "table customer_activities",
    "view active_campaigns",
    "view campaign_metrics",
    "table crm_private.campaign_recipient_counts",
  ]
  reason = "CRM users are the authenticated role, told apart by a JWT claim that privileges cannot see; without a CRM level the policies give no row, and GraphQL shows these names and columns, not data (the counters: campaign_metrics is security_invoker and reads them as its reader)"
}
