"""What every module's API routes and pages share: request dependencies (the caller, the
database, the audit context), page rendering, and starting jobs."""
