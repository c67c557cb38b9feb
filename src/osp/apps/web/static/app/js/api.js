// Fetch wrappers for the control API (same origin, session cookie, JSON bodies only).

/** An API error: `status` (HTTP), `code` (the node's error code) and a readable message. */
export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && (body.message || body.error)) || `HTTP ${status}`;
    super(String(message));
    this.status = status;
    this.code = body && body.error ? String(body.error) : '';
  }
}

const MAX_LINE = 4 * 1024 * 1024; // an NDJSON line longer than this is refused

function onUnauthorized(status) {
  if (status === 401) document.dispatchEvent(new CustomEvent('osp:unauthorized'));
}

async function parse(response) {
  const text = await response.text();
  let body = {};
  if (text) {
    try { body = JSON.parse(text); } catch { body = { message: text.slice(0, 200) }; }
  }
  if (!response.ok) {
    onUnauthorized(response.status);
    throw new ApiError(response.status, body);
  }
  return body;
}

async function request(method, path, body, signal) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' }, signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, { message: 'the node does not answer (is `osp node` running?)' });
  }
  return parse(response);
}

/** GET path -> JSON. */
export const get = (path, signal) => request('GET', path, undefined, signal);
/** POST path with a JSON body -> JSON. */
export const post = (path, body = {}, signal) => request('POST', path, body, signal);
/** PUT path with a JSON body -> JSON. */
export const put = (path, body = {}, signal) => request('PUT', path, body, signal);
/** DELETE path -> JSON. */
export const del = (path, signal) => request('DELETE', path, undefined, signal);

/** A path segment, escaped. */
export const seg = (s) => encodeURIComponent(String(s));

/**
 * POST a JSON body and read an NDJSON answer: `onLine(object)` for each line as it
 * arrives. Resolves when the stream ends; rejects with ApiError (status, bad line) or an
 * AbortError when `signal` aborts.
 */
export async function ndjson(path, body, onLine, signal) {
  const response = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/x-ndjson' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body) return parse(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i).trim();
      buffer = buffer.slice(i + 1);
      if (line) onLine(JSON.parse(line));
    }
    if (buffer.length > MAX_LINE) {
      await reader.cancel();
      throw new ApiError(0, { message: 'an answer line is too long' });
    }
  }
  if (buffer.trim()) onLine(JSON.parse(buffer));
  return undefined;
}

/**
 * Upload one File to `POST /api/upload?name=` with XMLHttpRequest (progress events):
 * `onProgress(loaded, total)` in bytes. Resolves to `{upload, name, size}`.
 */
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/upload?name=${encodeURIComponent(file.name)}`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size));
    xhr.addEventListener('load', () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText || '{}'); } catch { body = { message: 'a malformed answer' }; }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve(body);
      } else {
        onUnauthorized(xhr.status);
        reject(new ApiError(xhr.status, body));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, { message: `uploading ${file.name} failed` })));
    xhr.addEventListener('abort', () => reject(new ApiError(0, { message: 'upload cancelled' })));
    xhr.send(file);
  });
}
