-- Context windows of models, imported with a price file (POST /admin/prices/import, LiteLLM's
-- model_prices_and_context_window.json `max_input_tokens` / `max_output_tokens`), platform-wide.
-- `model` is named as the price table names it: a vendor's own model bare ('gpt-4o'), a hosted one
-- pinned to its host ('groq/llama-3.3-70b-versatile'); lower-case. A route deployment without its
-- own model_info.max_input_tokens takes its model's max_input_tokens from here, so a prompt longer
-- than it goes to the group's context_window_fallbacks.
CREATE TABLE context_windows (
  model              TEXT    PRIMARY KEY,
  max_input_tokens   INTEGER NOT NULL CHECK (max_input_tokens > 0),
  max_output_tokens  INTEGER CHECK (max_output_tokens > 0),
  updated_at         INTEGER NOT NULL
);
