/**
 * Writes a stream of unknown length into R2 without holding it whole: bytes are gathered into
 * parts of `PART_BYTES` (R2 wants every part but the last the same size) and sent as a multipart
 * upload; a stream that ends before its first part is full is one plain `put`. At most one part is
 * in memory. A stream that passes `limit` aborts the upload and throws `TooLarge`.
 */

export const PART_BYTES = 8 * 1024 * 1024;

export class TooLarge extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

export class R2StreamWriter {
  readonly #bucket: R2Bucket;
  readonly #key: string;
  readonly #limit: number;
  readonly #partBytes: number;
  readonly #options: R2PutOptions;
  #part: Uint8Array;
  #filled = 0;
  #total = 0;
  #upload: R2MultipartUpload | null = null;
  #parts: R2UploadedPart[] = [];

  constructor(bucket: R2Bucket, key: string, options: { limit: number; partBytes?: number; put?: R2PutOptions }) {
    this.#bucket = bucket;
    this.#key = key;
    this.#limit = options.limit;
    this.#partBytes = options.partBytes ?? PART_BYTES;
    this.#options = options.put ?? {};
    this.#part = new Uint8Array(this.#partBytes);
  }

  get bytes(): number {
    return this.#total;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#total += chunk.length;
    if (this.#total > this.#limit) {
      await this.abort();
      throw new TooLarge(this.#limit);
    }
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.#partBytes - this.#filled);
      this.#part.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === this.#partBytes) await this.#flushPart();
    }
  }

  /** Writes every chunk of `stream`; returns the byte count. */
  async writeAll(stream: ReadableStream<Uint8Array>): Promise<number> {
    const reader = stream.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        await this.write(r.value);
      }
    } catch (err) {
      await reader.cancel().catch(() => {});
      await this.abort();
      throw err;
    }
    return this.#total;
  }

  async close(): Promise<number> {
    if (!this.#upload) {
      await this.#bucket.put(this.#key, this.#part.subarray(0, this.#filled), this.#options);
      return this.#total;
    }
    if (this.#filled > 0) await this.#flushPart();
    await this.#upload.complete(this.#parts);
    return this.#total;
  }

  async abort(): Promise<void> {
    const upload = this.#upload;
    this.#upload = null;
    this.#filled = 0;
    if (upload) await upload.abort().catch(() => {});
  }

  async #flushPart(): Promise<void> {
    this.#upload ??= await this.#bucket.createMultipartUpload(this.#key, this.#options);
    // A full part is sent as is; the buffer is replaced, not reused, while R2 may still read it.
    const body = this.#part.subarray(0, this.#filled);
    this.#parts.push(await this.#upload.uploadPart(this.#parts.length + 1, body));
    this.#part = new Uint8Array(this.#partBytes);
    this.#filled = 0;
  }
}
