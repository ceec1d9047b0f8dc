-- Price-file imports (POST /admin/prices/import, LiteLLM's model_prices_and_context_window.json):
-- one row per import that changed any price, with how many rows it created or changed; the rows it
-- wrote carry its id in prices.import_id (NULL for a price set by hand with PUT /admin/prices/{model}
-- or seeded). Importing the same file again changes no row and so records no import. Each row an
-- import writes also becomes that model's next price version (billing/0010's triggers), like any
-- other write of a price.
--
-- Rates stay integer micro-dollars per 1M tokens; the importer converts LiteLLM's USD-per-token
-- decimals exactly (×10^12 on the decimal text, rounded up only below 1 µ$/Mtok).
CREATE TABLE price_imports (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  source      TEXT    NOT NULL,   -- 'litellm'
  created     INTEGER NOT NULL,   -- rows this import created
  updated     INTEGER NOT NULL,   -- rows this import changed
  created_at  INTEGER NOT NULL    -- epoch ms
);

ALTER TABLE prices ADD COLUMN import_id INTEGER;  -- price_imports.id, NULL when set by hand or seeded
