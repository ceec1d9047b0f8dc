export const DOCS_VENDOR_DIR: string;
export function ensureDocsAssets(): void;
