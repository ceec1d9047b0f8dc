-- LiteLLM configuration (POST/GET /v1/config/litellm). `source` says what wrote a row: NULL for the
-- providers API, 'litellm' for an import (a re-import prunes only its own rows). `credential_env`
-- is the `os.environ/NAME` a provider's credential was imported as and is exported as (never the
-- value). A route's `settings` holds LiteLLM's per-group routing: fallbacks, context-window and
-- content-policy fallbacks, allowed_fails/cooldown, and `alias_of` for a model_group_alias.
-- Route targets (JSON) may carry rpm, tpm, order, id and max_input_tokens per deployment.
ALTER TABLE providers ADD COLUMN source TEXT;
ALTER TABLE providers ADD COLUMN credential_env TEXT;
ALTER TABLE routes ADD COLUMN source TEXT;
ALTER TABLE routes ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
