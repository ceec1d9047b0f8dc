import { ApiError } from "../../../shared/src";

/** An optional JSON body: empty means `{}`. */
export async function optionalJson(req: Request): Promise<unknown> {
  const text = await req.clone().text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError({ code: "invalid_json", message: "The request body is not valid JSON." });
  }
}
