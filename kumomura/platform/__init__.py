"""What every business module stands on: tenancy, parameters, linkage, audit, jobs, auth."""
