"""The wire contract in machine-readable form: pydantic models of every JSON payload, the JSON
Schemas and the AsyncAPI document generated from them (`docs/contract/`, `make contract`)."""
