// UTF-8 facts the lookups need: well-formedness of a byte span, and a leading byte-order mark.

/** Whether buf[start..end) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
export function isValidUtf8(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    let n: number;
    let cp: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) (n = 1), (cp = b & 0x1f);
    else if ((b & 0xf0) === 0xe0) (n = 2), (cp = b & 0x0f);
    else if (b >= 0xf0 && b <= 0xf4) (n = 3), (cp = b & 0x07);
    else return false;
    if (i + n >= end) return false;
    for (let j = 1; j <= n; j++) {
      const c = buf[i + j]!;
      if ((c & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff))) return false;
    i += n + 1;
  }
  return true;
}

/** A UTF-8 byte-order mark (EF BB BF) at buf[start], within end. */
export const startsWithBom = (buf: Uint8Array, start: number, end: number): boolean =>
  end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf;
