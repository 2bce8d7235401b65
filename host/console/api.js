// The public API, called with the signed-in key. The console can do nothing the API
// forbids: every action is one of these calls.

const KEY = "plaza.key";

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `HTTP ${status}`);
    this.status = status;
    this.type = error.type ?? null;
    this.detail = error.detail ?? null;
  }
}

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

function url(path, query) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u;
}

/** One call: JSON in and out; a non-2xx answer throws an `ApiError` with the API's
 *  message. */
export async function api(method, path, { body, query, key = session.key, headers: extra } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** The items of a paged list (`items` and `next`) up to about `max`, and whether more
 *  remain. */
export async function upTo(path, query = {}, max = 5000) {
  const items = [];
  let after;
  do {
    const page = await api("GET", path, { query: { ...query, after, limit: 1000 } });
    items.push(...page.items);
    after = page.next;
  } while (after && items.length < max);
  return { items, more: Boolean(after) };
}

/** Every item of a paged list, up to about `max`. */
export async function all(path, query = {}, max = 5000) {
  return (await upTo(path, query, max)).items;
}

/** Upload bytes with progress (`fetch` cannot report an upload's progress). */
export function upload(path, file, query, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url(path, query));
    xhr.setRequestHeader("Authorization", `Bearer ${session.key}`);
    xhr.setRequestHeader("Content-Type", "application/wasm");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress?.(e.loaded / e.total, "sending");
    xhr.upload.onload = () => onProgress?.(1, "compiling");
    xhr.onerror = () => reject(new ApiError(0, { error: { message: "network error" } }));
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    };
    xhr.send(file);
  });
}
