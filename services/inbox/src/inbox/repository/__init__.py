"""All of the inbox's SQL, one module per area; every table lives in the `inbox` schema."""
