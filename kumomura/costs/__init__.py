"""割り勘: the consortium's cost sharing, savings guarantee and member reports."""
