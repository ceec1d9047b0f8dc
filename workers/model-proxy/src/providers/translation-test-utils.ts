import { SseParser, sseEvents, type SseEvent } from "../../../shared/src";
import type { ChatCompletionChunk } from "./chat-translation";

/**
 * Test helpers for stream translators: feed recorded upstream SSE text through a translator in
 * small, uneven pieces (as a network would deliver it) and read back what a client would receive.
 */

/** Recorded SSE text as a byte stream cut into `pieceSize`-character chunks. */
export function sseBody(text: string, pieceSize = 37): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= text.length) {
        controller.close();
        return;
      }
      controller.enqueue(enc.encode(text.slice(offset, offset + pieceSize)));
      offset += pieceSize;
    },
  });
}

/** Runs recorded SSE through a translator and returns the raw SSE text it produced. */
export async function translateSse(text: string, translator: TransformStream<SseEvent, string>): Promise<string> {
  let out = "";
  for await (const piece of sseBody(text).pipeThrough(sseEvents()).pipeThrough(translator)) out += piece;
  return out;
}

export interface ClientView {
  chunks: ChatCompletionChunk[];
  /** `data: {"error":…}` events, as the OpenAI SDK would raise them. */
  errors: { message: string; type: string; code: string | null }[];
  done: boolean;
}

/** Parses OpenAI-format SSE the way the OpenAI SDK reads it. */
export function readOpenAISse(text: string): ClientView {
  const view: ClientView = { chunks: [], errors: [], done: false };
  const parser = new SseParser();
  for (const event of [...parser.push(text), ...parser.end()]) {
    if (event.data === "[DONE]") {
      view.done = true;
      continue;
    }
    const data = JSON.parse(event.data) as { error?: ClientView["errors"][number] } & ChatCompletionChunk;
    if (data.error) view.errors.push(data.error);
    else view.chunks.push(data);
  }
  return view;
}

/** Accumulates streamed chunks into the message a client SDK would assemble. */
export function assemble(chunks: ChatCompletionChunk[]) {
  let content = "";
  let reasoning = "";
  let finish: string | null = null;
  const tools: { id?: string; name?: string; arguments: string }[] = [];
  let usage: ChatCompletionChunk["usage"] = null;
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      const delta = choice.delta as ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };
      content += delta.content ?? "";
      reasoning += delta.reasoning_content ?? "";
      for (const call of delta.tool_calls ?? []) {
        const slot = (tools[call.index] ??= { arguments: "" });
        if (call.id) slot.id = call.id;
        if (call.function?.name) slot.name = call.function.name;
        slot.arguments += call.function?.arguments ?? "";
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return { content, reasoning, finish, tools, usage };
}
