locals {
  # Every variable of supabase-init.hcl: templatefile() fails when the
  # template uses a name this map lacks.
  template_variables = {
    schema            = var.schema
    private_schema    = var.private_schema
    lock_timeout      = var.lock_timeout
    statement_timeout = var.statement_timeout
  }

  sql        = templatefile("${path.module}/supabase-init.sql.tpl", local.template_variables)
  sql_sha256 = sha256(local.sql)

  # Terraform can hand a provisioner data only through its command line and
  # its environment, and Linux caps each single argument or environment
  # string at 128 KiB (MAX_ARG_STRLEN): a 1 MiB script in either fails with
  # "argument list too long". So the SQL travels gzip-compressed and
  # base64-encoded, split into environment variables of 96,000 characters,
  # and the command reassembles it into a private temporary file for psql.
  # What remains is the limit on arguments plus environment together (ARG_MAX,
  # 2 MiB on a default Linux), checked by the precondition below.
  #
  # regexall() splits in one linear pass (substr() re-scans the string from
  # its start on every call); RE2 caps a repetition at 1000, hence pieces of
  # 1000 characters joined 96 at a time.
  payload_pieces = regexall("[A-Za-z0-9+/=]{1,1000}", base64gzip(local.sql))
  payload_environment = {
    for first in range(0, length(local.payload_pieces), 96) :
    format("SUPABASE_INIT_SQL_%04d", first / 96) => join("", slice(local.payload_pieces, first, min(first + 96, length(local.payload_pieces))))
  }
  max_payload_pieces = 1536

  connection_environment = {
    PGHOST             = var.host
    PGPORT             = tostring(var.port)
    PGDATABASE         = var.database
    PGUSER             = var.user
    PGSSLMODE          = var.sslmode
    PGAPPNAME          = "supabase-init (terraform)"
    SUPABASE_INIT_PSQL = var.psql_path
  }

  # nonsensitive() on the null test only: whether a password was given is
  # not secret, and a sensitive condition would mark the whole environment
  # sensitive, which makes Terraform hide psql's output even when the
  # password comes from the environment.
  password_environment = nonsensitive(var.password == null) ? {} : { PGPASSWORD = var.password }

  # With concurrent_indexes, psql runs concurrent-indexes.psql instead of the
  # script alone; it travels like the SQL, through the environment.
  concurrent_indexes_environment = var.concurrent_indexes ? {
    SUPABASE_INIT_CONCURRENT_INDEXES = file("${path.module}/concurrent-indexes.psql")
  } : {}
}

resource "terraform_data" "this" {
  # Replaced, and so re-run, when the SQL or the target database changes, and
  # with reapply_on_every_apply on every apply (timestamp() is unknown until
  # apply). Only hashes, connection identity and that time land in state;
  # never the password.
  triggers_replace = merge({
    sql_sha256 = local.sql_sha256
    host       = var.host
    port       = var.port
    database   = var.database
    user       = var.user
  }, var.reapply_on_every_apply ? { applied_at = timestamp() } : {})
  input = local.sql_sha256

  lifecycle {
    precondition {
      condition     = length(local.payload_pieces) <= local.max_payload_pieces
      error_message = "The rendered SQL is too large to hand to psql: about ${length(local.payload_pieces)} KB once compressed and base64-encoded, and at most ${local.max_payload_pieces} KB fit in a process environment (see the module README, \"How the SQL reaches psql\"); `supabase-init apply` has no such limit."
    }
    # As `supabase-init render`: the objects of each schema variable need a
    # schema of their own. (Here, not as a validation of private_schema: a
    # validation naming another variable is skipped while that one is invalid,
    # and would hide private_schema's own errors.)
    precondition {
      condition     = var.private_schema != var.schema
      error_message = "The private_schema must not be the same schema as schema."
    }
  }

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    # Terraform would print the whole shell script below on every run; psql's
    # own output, and its error on a failure, still show.
    quiet = true
    # psql reads the script from a file, so its errors name the line
    # (psql:supabase-init.sql:LINE: ERROR: ...), the same line as in
    # `supabase-init render` output. -X ignores ~/.psqlrc; ON_ERROR_STOP with
    # --single-transaction rolls everything back on the first error and exits
    # non-zero, which fails `terraform apply`. client_min_messages hides the
    # script's "already exists, skipping" notices on a re-run.
    #
    # With concurrent_indexes, psql runs concurrent-indexes.psql instead: the
    # script in one transaction (BEGIN, the script, COMMIT, same errors and
    # line numbers), then the index builds it deferred. The %{ } directives
    # open and close lines of the command rather than standing on lines of
    # their own, which would leave blank lines or, with ~, break the heredoc's
    # indentation stripping; so without concurrent_indexes the command is
    # byte for byte what it always was.
    #
    # The directory holding the SQL goes on every way out: at exit, and on
    # SIGHUP, SIGINT or SIGTERM (a shell runs its EXIT trap on a signal only
    # when that signal is trapped). SIGKILL cannot be caught, so the
    # directory's name carries the shell's process id and each run first
    # removes those whose shell is gone (never another run's that is still
    # going: instances of a for_each run in parallel).
    command     = <<-EOT
      set -eu
      tmp="$${TMPDIR:-/tmp}"
      for stale in "$tmp"/supabase-init-psql.*; do
        [ -d "$stale" ] || continue
        pid=$${stale##*/supabase-init-psql.}
        pid=$${pid%%.*}
        case "$pid" in *[!0-9]* | "") continue ;; esac
        kill -0 "$pid" 2>/dev/null || rm -rf "$stale" 2>/dev/null || true
      done
      work=$(mktemp -d "$tmp/supabase-init-psql.$$.XXXXXX")
      trap 'rm -rf "$work"' EXIT
      trap 'exit 129' HUP
      trap 'exit 130' INT
      trap 'exit 143' TERM
      cd "$work"
      printf '%s' ${join(" ", [for name in keys(local.payload_environment) : "\"$${${name}}\""])} > supabase-init.sql.gz.b64
      base64 -d < supabase-init.sql.gz.b64 > supabase-init.sql.gz
      gzip -dc < supabase-init.sql.gz > supabase-init.sql
      %{if var.concurrent_indexes}printf '%s' "$SUPABASE_INIT_CONCURRENT_INDEXES" > concurrent-indexes.psql
      "$SUPABASE_INIT_PSQL" -X -q -v ON_ERROR_STOP=1 \
        -c 'SET client_min_messages = warning' -f concurrent-indexes.psql
      %{else}"$SUPABASE_INIT_PSQL" -X -q -v ON_ERROR_STOP=1 --single-transaction \
        -c 'SET client_min_messages = warning' -f supabase-init.sql%{endif}
    EOT
    environment = merge(local.payload_environment, local.connection_environment, local.password_environment, local.concurrent_indexes_environment)
  }
}
