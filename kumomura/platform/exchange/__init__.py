"""Standard layouts and the files that carry a municipality's data in and out."""
