// Canonical JSON, as a JavaScript contract's ctx.json.encode writes it: object keys sorted by
// UTF-16 code units, no whitespace, strings escaped as JSON.stringify does. Objects are built from
// their members; the output does not depend on the order they were added in.

const HEX_DIGITS = "0123456789abcdef";

/** `text` as a JSON string literal, quotes included. */
export function jsonString(text: string): string {
  const parts = new Array<string>();
  parts.push('"');
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let escaped: string | null = null;
    if (c == 34) escaped = '\\"';
    else if (c == 92) escaped = "\\\\";
    else if (c == 8) escaped = "\\b";
    else if (c == 12) escaped = "\\f";
    else if (c == 10) escaped = "\\n";
    else if (c == 13) escaped = "\\r";
    else if (c == 9) escaped = "\\t";
    else if (c < 32 || isLoneSurrogate(text, i)) escaped = unicodeEscape(c);
    if (escaped !== null) {
      parts.push(text.substring(start, i));
      parts.push(escaped);
      start = i + 1;
    }
  }
  parts.push(text.substring(start));
  parts.push('"');
  return parts.join("");
}

function unicodeEscape(c: i32): string {
  return (
    "\\u" +
    HEX_DIGITS.charAt((c >> 12) & 15) +
    HEX_DIGITS.charAt((c >> 8) & 15) +
    HEX_DIGITS.charAt((c >> 4) & 15) +
    HEX_DIGITS.charAt(c & 15)
  );
}

function isLoneSurrogate(text: string, i: i32): bool {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    return !(next >= 0xdc00 && next <= 0xdfff);
  }
  if (c >= 0xdc00 && c <= 0xdfff) {
    const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
    return !(prev >= 0xd800 && prev <= 0xdbff);
  }
  return false;
}

class Member {
  constructor(
    public key: string,
    public json: string,
  ) {}
}

/** A JSON object written canonically: `new JsonObject().int("count", n).toString()`. */
export class JsonObject {
  private members: Array<Member> = [];

  /** A member whose value is already JSON (a nested object, an array, …). Replaces a same key. */
  raw(key: string, json: string): JsonObject {
    for (let i = 0; i < this.members.length; i++) {
      if (this.members[i].key == key) {
        this.members[i].json = json;
        return this;
      }
    }
    this.members.push(new Member(key, json));
    return this;
  }

  string(key: string, value: string): JsonObject {
    return this.raw(key, jsonString(value));
  }

  /** A string member, or null when `value` is null. */
  stringOrNull(key: string, value: string | null): JsonObject {
    return this.raw(key, value === null ? "null" : jsonString(value));
  }

  /** An integer (JSON numbers are exact up to 2^53 in JavaScript readers). */
  int(key: string, value: i64): JsonObject {
    return this.raw(key, value.toString());
  }

  bool(key: string, value: bool): JsonObject {
    return this.raw(key, value ? "true" : "false");
  }

  null(key: string): JsonObject {
    return this.raw(key, "null");
  }

  toString(): string {
    const sorted = this.members.slice();
    sorted.sort((a: Member, b: Member): i32 => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const parts = new Array<string>(sorted.length);
    for (let i = 0; i < sorted.length; i++) parts[i] = jsonString(sorted[i].key) + ":" + sorted[i].json;
    return "{" + parts.join(",") + "}";
  }
}

/** A JSON array of already-encoded items. */
export function jsonArray(items: Array<string>): string {
  return "[" + items.join(",") + "]";
}

/**
 * The value of a top-level string member of a flat canonical JSON object such as
 * Context.originJson (no nested objects, no escapes in values), or null when it is not there.
 */
export function jsonStringMember(json: string, key: string): string | null {
  const marker = jsonString(key) + ':"';
  const at = json.indexOf(marker);
  if (at < 0) return null;
  const start = at + marker.length;
  const end = json.indexOf('"', start);
  if (end < 0) return null;
  return json.substring(start, end);
}

/**
 * A flat canonical JSON object (as Context.originJson) without one of its string or number
 * members: the origin without its endUser, for instance.
 */
export function jsonWithoutMember(json: string, key: string): string {
  const marker = jsonString(key) + ":";
  const at = json.indexOf(marker);
  if (at < 0) return json;
  let end = at + marker.length;
  if (json.charCodeAt(end) == 34) end = json.indexOf('"', end + 1) + 1;
  else while (end < json.length && json.charCodeAt(end) != 44 && json.charCodeAt(end) != 125) end++;
  // Drop one comma: the one after the member, else the one before it.
  if (json.charCodeAt(end) == 44) return json.substring(0, at) + json.substring(end + 1);
  if (json.charCodeAt(at - 1) == 44) return json.substring(0, at - 1) + json.substring(end);
  return json.substring(0, at) + json.substring(end);
}
